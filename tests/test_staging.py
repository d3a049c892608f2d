"""Files a stage reads, for remote workers: a local lexicon or model folder is staged under
the run's --temp_location on a remote runner, and workers read gs:// / s3:// paths from a
local copy. Against a real S3-compatible server (moto_server) through Beam's S3 filesystem."""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.pipeline import PipelineVisitor
from test_object_store import BUCKET, endpoint, keys_under, put, s3_options  # noqa: F401
from test_tag import panel

from pipeline.cli import build_parser, main
from pipeline.options import beam_args_with_defaults
from pipeline.run_stage import StageDoFn
from pipeline.runner import build
from pipeline.stages import STAGES
from pipeline.stages.tag import TagConfig
from pipeline.staging import STAGED_FOLDER, localize_config, stage_config_files
from schemas import PANEL_SCHEMA, to_table

LEXICON = (
    "cui\tname\tsemtypes\tsemgroup\tmodality\tterms\n"
    "C9999999\tZorbulin stain\tT059\tPROC\t\tzorbulin stain|zorbulin\n"
)
DATAFLOW = ["--runner=DataflowRunner", "--project=p", "--region=us-central1"]


def dataflow_options(url: str, *extra: str) -> PipelineOptions:
    options = PipelineOptions([*DATAFLOW, *s3_options(url), *extra])
    FileSystems.set_options(options)
    return options


def model_folder(root: Path) -> Path:
    folder = root / "my-model"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "config.json").write_text('{"dim": 384}')
    (folder / "1_Pooling" / "config.json").write_bytes(bytes(range(256)) * 10)
    return folder


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_a_remote_run_stages_local_files_and_workers_read_them_back(
    endpoint: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    lexicon = tmp_path / "lexicon.tsv"
    lexicon.write_text(LEXICON)
    options = dataflow_options(endpoint, f"--temp_location=s3://{BUCKET}/tmp")
    staged = stage_config_files(TagConfig(lexicon_tsv=str(lexicon)), ("lexicon_tsv",), options)
    assert staged.lexicon_tsv.startswith(f"s3://{BUCKET}/tmp/{STAGED_FOLDER}/")
    assert staged.lexicon_tsv.endswith("/lexicon.tsv")
    # the same bytes stage to the same place: a relaunch uploads nothing new
    again = stage_config_files(TagConfig(lexicon_tsv=str(lexicon)), ("lexicon_tsv",), options)
    assert again == staged

    dedup = STAGES["dedup"]
    config = dedup.make_config(
        build_parser().parse_args(
            ["dedup", "--input", "x", "--output", "y", "--embed", "none"]
            + ["--exclude-ids", str(write(tmp_path / "ids.txt", "PMC1\n"))]
        )
    )
    folder = model_folder(tmp_path)
    config = type(config)(**{**config.__dict__, "embed_model": str(folder)})
    staged_dedup = stage_config_files(config, dedup.staged_paths, options)
    assert "://" in staged_dedup.embed_model and "://" in staged_dedup.exclude_ids

    # a worker: local copies, the same bytes and tree, made once
    local = localize_config(staged_dedup, dedup.staged_paths)
    assert tree(Path(local.embed_model)) == tree(folder)
    assert Path(local.exclude_ids).read_text() == "PMC1\n"
    assert localize_config(staged_dedup, dedup.staged_paths) == local
    assert Path(localize_config(staged, ("lexicon_tsv",)).lexicon_tsv).read_text() == LEXICON


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_local_runs_keep_paths_and_remote_ones_need_a_place(tmp_path: Path) -> None:
    lexicon = write(tmp_path / "lexicon.tsv", LEXICON)
    config = TagConfig(lexicon_tsv=str(lexicon))
    local = PipelineOptions(beam_args_with_defaults([]))
    assert stage_config_files(config, ("lexicon_tsv",), local) == config
    with pytest.raises(SystemExit, match="--temp_location"):
        stage_config_files(config, ("lexicon_tsv",), PipelineOptions(DATAFLOW))
    missing = TagConfig(lexicon_tsv=str(tmp_path / "nope.tsv"))
    with pytest.raises(SystemExit, match="no such file"):
        stage_config_files(missing, ("lexicon_tsv",), PipelineOptions(DATAFLOW))


def test_a_portable_runner_graph_names_the_staged_lexicon(
    endpoint: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    lexicon = write(tmp_path / "lexicon.tsv", LEXICON)
    put(endpoint, "p/data-00000-of-00001.parquet", b"a shard to list")
    args = build_parser().parse_args(
        ["tag", "--input", f"s3://{BUCKET}/p", "--output", f"s3://{BUCKET}/t"]
        + ["--lexicon", str(lexicon)]
    )
    # Flink and Spark go through the portable runner; Dataflow insists on gs:// paths here
    options = PipelineOptions(
        ["--runner=PortableRunner", "--job_endpoint=localhost:8099", *s3_options(endpoint)]
        + [f"--temp_location=s3://{BUCKET}/graph-tmp"]
    )
    FileSystems.set_options(options)
    pipeline = beam.Pipeline(options=options)
    build(pipeline, [STAGES["tag"]], args, {"tag": f"s3://{BUCKET}/t.tmp-x"}, args.input)
    staged = [k for k in keys_under(endpoint, "graph-tmp/") if k.endswith("/lexicon.tsv")]
    assert len(staged) == 1  # staged while the graph was built, before any submit
    configs = [fn.config for fn in stage_dofns(pipeline)]
    assert configs == [TagConfig(lexicon_tsv=f"s3://{BUCKET}/{staged[0]}")]


def stage_dofns(pipeline: beam.Pipeline) -> list[StageDoFn]:
    found: list[StageDoFn] = []

    class Visitor(PipelineVisitor):
        def visit_transform(self, node) -> None:
            fn = getattr(node.transform, "fn", None)
            if isinstance(fn, StageDoFn):
                found.append(fn)

    pipeline.visit(Visitor())
    return found


@pytest.mark.beam
def test_workers_tag_with_a_lexicon_named_by_s3_path(
    endpoint: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    put(endpoint, "lexicons/zorbulin.tsv", LEXICON.encode())
    panels = tmp_path / "panels"
    panels.mkdir()
    records = [panel("PMC1/F1/p0", "Zorbulin stain of the liver.", None)]
    pq.write_table(to_table(PANEL_SCHEMA, records), panels / "data-00000-of-00001.parquet")
    out = tmp_path / "tagged"
    args = ["tag", "--input", str(panels), "--output", str(out), "--quiet"]
    args += ["--lexicon", f"s3://{BUCKET}/lexicons/zorbulin.tsv", *s3_options(endpoint)]
    assert main(args) == 0
    assert json.loads((out / "stats.json").read_text())["ledger_ok"] is True
    rows = pq.read_table(next(out.glob("data-*.parquet"))).to_pylist()
    assert [c["cui"] for c in rows[0]["concepts"]] == ["C9999999"]
