"""The Starlette app: server-rendered pages over an `Explorer`; read-only, local assets only."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, TimeoutError
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from explorer import history
from explorer.caption import caption_pieces
from explorer.folders import OutFolder
from explorer.images import image_bytes, media_type, thumbnail
from explorer.query import Explorer, Filters

HERE = Path(__file__).parent
FACETS = ("modality", "semgroup", "license", "split")
# the menus' value counts scan whole columns (seconds at 1M rows): they are counted in the
# background, and a grid page waits this long for them before it shows text boxes instead
FACET_WAIT_S = 0.1
SECURITY_HEADERS = {
    # no script, style or image from anywhere but this server; no framing
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def create_app(root: str) -> Starlette:
    explorer = Explorer(OutFolder(root))
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every value is escaped: captions are untrusted text
        undefined=jinja2.StrictUndefined,
    )

    def page(name: str, status: int = 200, **context: object) -> HTMLResponse:
        html = templates.get_template(name).render(
            root=explorer.out.root, stages=list(explorer.out.stages), **context
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def stage_of(name: str) -> str:
        if name not in explorer.out.stages:
            raise HTTPException(404, f"no stage folder {name!r}")
        return name

    def grid(request: Request) -> HTMLResponse:
        params = dict(request.query_params)
        filters = Filters.from_params(params)
        number = int(params["page"]) if params.get("page", "").isdigit() else 1
        result = explorer.grid(filters, number)
        active = filters.active() | {"stage": result.stage}

        def page_url(n: int) -> str:
            return "/?" + urlencode(active | {"page": n})

        # submitted after the page's own query, so counting never slows a first page down
        counting = facet_jobs.get(result.stage)
        if counting is None:
            counting = facet_jobs[result.stage] = background.submit(facets_of, result.stage)
        try:
            facets = counting.result(timeout=FACET_WAIT_S)
        except TimeoutError:
            facets = None  # not counted yet: the template shows text boxes
        pruned = explorer.out.read_json(result.stage, "pruned.json")  # --no-intermediate
        return page(
            "grid.html",
            result=result,
            filters=active,
            facets=facets,
            page_url=page_url,
            pruned=pruned,
        )

    def facets_of(stage: str) -> dict[str, list[tuple[str, int]]]:
        return {name: explorer.facet(stage, name) for name in FACETS}

    background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="facets")
    facet_jobs: dict[str, Future] = {}
    explorer.default_stage()  # a folder without data shards fails here, before serving

    def record(request: Request) -> HTMLResponse:
        stage = stage_of(request.query_params.get("stage", ""))
        key = request.query_params.get("key", "")
        found = explorer.record(stage, key)
        if found is None:
            return page("message.html", 404, title="No such record", text=f"{stage}: {key}")
        parent_key = found.get("parent_key") or found["key"]
        has_figures = "figures" in explorer.out.stages
        figure = explorer.record("figures", parent_key) if has_figures else None
        pieces = caption_pieces(
            found.get("caption") or "", found.get("subcaption_spans"), found.get("concepts")
        )
        return page(
            "record.html",
            stage=stage,
            record=found,
            figure=figure,
            panels=explorer.panels_of(parent_key),
            pieces=pieces,
            fates=history.fates(explorer, stage, key),
        )

    def ledger(request: Request) -> HTMLResponse:
        return page("ledger.html", ledger=history.ledger(explorer))

    def losses(request: Request) -> HTMLResponse:
        stage = stage_of(request.query_params.get("stage", ""))
        table = request.query_params.get("table", "dropped")
        if table not in ("dropped", "errors"):
            raise HTTPException(404, "table is dropped or errors")
        reason = request.query_params.get("reason", "")
        return page(
            "losses.html",
            stage=stage,
            table=table,
            reason=reason,
            rows=history.losses(explorer, stage, table, reason),
            upstream=explorer.out.upstream(stage),
            limit=history.LIST_LIMIT,
        )

    def duplicates(request: Request) -> HTMLResponse:
        return page(
            "duplicates.html",
            groups=history.duplicate_groups(explorer),
            upstream=explorer.out.upstream("deduped") if "deduped" in explorer.out.stages else None,
        )

    def balance(request: Request) -> HTMLResponse:
        before, after = history.entry_counts(explorer)
        return page("balance.html", before=before, after=after, head=20)

    @lru_cache(maxsize=64)  # whole images, some megabytes each
    def cell(stage: str, shard: int, row: int) -> bytes | None:
        files = explorer.out.stages[stage].data_files
        return image_bytes(explorer.out, files[shard], row) if 0 <= shard < len(files) else None

    @lru_cache(maxsize=4096)  # small JPEGs, tens of kilobytes each
    def thumb(stage: str, shard: int, row: int) -> bytes | None:
        data = cell(stage, shard, row)
        return thumbnail(data) if data else None

    def image(request: Request) -> Response:
        stage = stage_of(request.path_params["stage"])
        where = (stage, request.path_params["shard"], request.path_params["row"])
        small = request.url.path.startswith(("/thumb/", "/keythumb"))
        try:
            data = thumb(*where) if small else cell(*where)
        except (OSError, ValueError) as exc:  # undecodable bytes: a clear 415, not a crash
            return Response(f"cannot show this image: {exc}", 415, media_type="text/plain")
        if not data:
            raise HTTPException(404, "no image there")
        headers = SECURITY_HEADERS | {"Cache-Control": "max-age=3600"}
        kind = "image/jpeg" if small else media_type(data)
        return Response(data, media_type=kind, headers=headers)

    def thumb_by_key(request: Request) -> Response:
        """A record's thumbnail by stage and key (duplicates, drops: pages of keys)."""
        stage = stage_of(request.query_params.get("stage", ""))
        found = explorer.record(stage, request.query_params.get("key", ""))
        if found is None:
            raise HTTPException(404, "no such record")
        request.path_params.update(stage=stage, shard=found["shard"], row=found["row"])
        return image(request)

    def raw(request: Request) -> Response:
        path = explorer.out.file_under_root(request.path_params["path"])
        if path is None:
            raise HTTPException(404, "not a file under the output folder")
        with explorer.out.fs.open(path, "rb") as handle:
            data = handle.read()
        kind = {".json": "application/json", ".png": "image/png", ".md": "text/plain"}.get(
            Path(path).suffix, "application/octet-stream"
        )
        return Response(data, media_type=kind, headers=SECURITY_HEADERS)

    routes = [
        Route("/", grid),
        Route("/record", record),
        Route("/ledger", ledger),
        Route("/losses", losses),
        Route("/duplicates", duplicates),
        Route("/balance", balance),
        Route("/thumb/{stage:str}/{shard:int}/{row:int}", image),
        Route("/image/{stage:str}/{shard:int}/{row:int}", image),
        Route("/keythumb", thumb_by_key),
        Route("/raw/{path:path}", raw),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes)
