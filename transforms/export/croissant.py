"""`OUT/export/croissant.json`: the export described in Croissant 1.1 (JSON-LD).

FileSets for both formats (Parquet per split, WebDataset tars per split, the metadata
table), and one record set over the Parquet files with the scalar columns, the image and
the split. Licence, url, creator and datePublished come from options or the input
(the exported records' licences), never from the clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from schemas.records import EXPORT_SCHEMA

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
# the JSON-LD context Croissant 1.1 documents (as mlcroissant writes it)
CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
_CC_URL = re.compile(r"^CC (BY(?:-NC)?(?:-ND|-SA)?) (\d\.\d)$")
PARQUET = "application/x-parquet"
TAR = "application/x-tar"


@dataclass(frozen=True)
class CroissantInputs:
    name: str
    description: str
    url: str
    creators: tuple[str, ...]
    date_published: str  # ISO 8601, from an option or the input
    version: str
    licenses: tuple[str, ...]  # the exported records' licence names
    cite_as: str = ""
    splits: tuple[str, ...] = ("train", "validation")


def license_url(name: str) -> str | None:
    """`CC BY 4.0` -> its creativecommons.org deed; None when there is no canonical URL."""
    if name.startswith("CC0"):
        return "https://creativecommons.org/publicdomain/zero/1.0/"
    m = _CC_URL.match(name)
    if m is None:
        return None
    return f"https://creativecommons.org/licenses/{m.group(1).lower()}/{m.group(2)}/"


def data_type(arrow_type: pa.DataType) -> str | None:
    """The Croissant data type of a scalar column; None for nested ones."""
    if pa.types.is_string(arrow_type):
        return "sc:Text"
    if pa.types.is_integer(arrow_type):
        return "sc:Integer"
    if pa.types.is_floating(arrow_type):
        return "sc:Float"
    if pa.types.is_boolean(arrow_type):
        return "sc:Boolean"
    return None


def _file_set(ident: str, description: str, fmt: str, includes: str) -> dict:
    return {
        "@type": "cr:FileSet",
        "@id": ident,
        "name": ident,
        "description": description,
        "encodingFormat": fmt,
        "includes": includes,
    }


def _fields(schema: pa.Schema, record_set: str, file_set: str) -> list[dict]:
    fields = [
        {
            "@type": "cr:Field",
            "@id": f"{record_set}/image",
            "name": "image",
            "description": "The figure or panel image (JPEG or PNG bytes).",
            "dataType": "sc:ImageObject",
            "source": {
                "fileSet": {"@id": file_set},
                "extract": {"column": "image"},
                "transform": {"jsonPath": "bytes"},
            },
        }
    ]
    for arrow_field in schema:
        kind = data_type(arrow_field.type)
        if kind is None:
            continue
        fields.append(
            {
                "@type": "cr:Field",
                "@id": f"{record_set}/{arrow_field.name}",
                "name": arrow_field.name,
                "dataType": kind,
                "source": {"fileSet": {"@id": file_set}, "extract": {"column": arrow_field.name}},
            }
        )
    return fields


def _unique(values: Iterable[str]) -> list[str]:
    return sorted({v for v in values if v})


def croissant(inputs: CroissantInputs, schema: pa.Schema = EXPORT_SCHEMA) -> dict:
    distribution = [
        _file_set(
            "parquet-files",
            "Parquet shards of every split (HF Features embedded).",
            PARQUET,
            "parquet/*.parquet",
        ),
        _file_set(
            "metadata-files", "Every column but the image bytes.", PARQUET, "metadata-*.parquet"
        ),
    ]
    for split in inputs.splits:
        distribution.append(
            _file_set(
                f"wds-{split}",
                f"WebDataset tars of the {split} split: "
                "{key}.jpg|png, {key}.txt, {key}.json.",
                TAR,
                f"wds/{split}/*.tar",
            )
        )
    licenses = _unique(license_url(name) or "" for name in inputs.licenses)
    document = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": inputs.name,
        "description": inputs.description,
        "conformsTo": CONFORMS_TO,
        "creator": [{"@type": "sc:Person", "name": name} for name in inputs.creators],
        "datePublished": inputs.date_published,
        "license": licenses if len(licenses) != 1 else licenses[0],
        "url": inputs.url,
        "version": inputs.version,
        "distribution": distribution,
        "recordSet": [
            {
                "@type": "cr:RecordSet",
                "@id": "samples",
                "name": "samples",
                "description": "One exported image-text pair per row; `split` names its split.",
                "field": _fields(schema, "samples", "parquet-files"),
            }
        ],
    }
    if inputs.cite_as:
        document["citeAs"] = inputs.cite_as
    if not licenses:  # no canonical URL for any licence: name them instead
        document["license"] = _unique(inputs.licenses) or ["unknown"]
    return document


def croissant_json(inputs: CroissantInputs, schema: pa.Schema = EXPORT_SCHEMA) -> str:
    return json.dumps(croissant(inputs, schema), indent=2, ensure_ascii=False) + "\n"
