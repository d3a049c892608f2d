"""The chain builds unchanged for Dataflow: construct the graph with its options, do not run."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.cli import build_parser
from pipeline.options import beam_args_with_defaults
from pipeline.runner import build, stage_folders
from pipeline.stages import STAGES

DATAFLOW_ARGS = [
    "--runner=DataflowRunner",
    "--project=my-project",
    "--region=us-central1",
    "--temp_location=gs://my-bucket/tmp",
    "--setup_file=./pyproject.toml",
]


def test_chain_graph_builds_with_dataflow_options() -> None:
    args = build_parser().parse_args(
        ["all", "--input", "gs://my-bucket/pmc-oa/", "--output", "gs://my-bucket/out"]
    )
    options = PipelineOptions(beam_args_with_defaults(DATAFLOW_ARGS))
    # local defaults must not leak into a Dataflow run
    assert options.get_all_options()["direct_running_mode"] != "multi_processing"
    specs = list(STAGES.values())
    folders = stage_folders(specs, args.output, chain=True)
    assert folders["extract"] == "gs://my-bucket/out/figures"
    pipeline = beam.Pipeline(options=options)
    build(pipeline, specs, args, {name: f"{f}.tmp-x" for name, f in folders.items()}, args.input)
    proto = pipeline.to_runner_api()
    labels = {t.unique_name for t in proto.components.transforms.values()}
    for spec in specs:
        assert any(label.startswith(f"Run{spec.name.capitalize()}") for label in labels)
        assert any(f"Write{spec.name.capitalize()}Folder" in label for label in labels)
    assert any("ReadArticleSources" in label for label in labels)
