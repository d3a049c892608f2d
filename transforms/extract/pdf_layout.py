"""Captions matched to the graphics of their figure on a PDF page, in PDF points.

A page is text blocks and graphics (pdf_page). Graphics close to each other are clustered,
and small text beside a cluster joins it (pdf_clusters); caption blocks are grouped per
figure (pdf_caption_groups). Each caption then takes the nearest cluster above or below
it in its column, and with it every other cluster between the caption and the nearest body
text: several images of one compound layout become one figure.
"""

from __future__ import annotations

from dataclasses import dataclass

from transforms.boxes import intersection, union
from transforms.extract.pdf_caption_groups import CaptionGroup
from transforms.extract.pdf_clusters import Cluster
from transforms.extract.pdf_page import PageLayout, Rect, expand, h_overlap

SPREAD_GAP = 12.0  # clusters this close to a caption's region join it beyond its column
FRAME_REACH = 20.0  # how far a cluster round a caption must reach past it to be its figure


@dataclass
class Match:
    group: CaptionGroup
    clusters: list[int]  # indices into the page's clusters
    bbox: Rect


def match_captions(
    layout: PageLayout,
    groups: list[CaptionGroup],
    clusters: list[Cluster],
    absorbed: set[int],
) -> list[Match]:
    """Give each caption the clusters of its figure: nearest first, closest caption first."""
    in_captions = {b for g in groups for b in g.blocks}
    obstacles = [
        b.bbox
        for i, b in enumerate(layout.blocks)
        if i not in absorbed and i not in in_captions and b.n_lines >= 2 and len(b.text) >= 60
    ]
    free = {i for i, c in enumerate(clusters)}
    pending = [g for g in groups if not g.continued]
    matches: list[Match] = []
    while pending:
        best = None
        for group in pending:
            walls = obstacles + [g.bbox for g in groups if g is not group]
            for zone in _zones(group.bbox, walls, clusters, free, layout.height):
                if best is None or zone[0] < best[0]:
                    best = (zone[0], group, zone)
        if best is None:
            break
        _, group, (_, taken, side) = best
        bbox = clusters[taken[0]].bbox
        for i in taken[1:]:
            bbox = union(bbox, clusters[i].bbox)
        # a frame drawn round figure and caption: the figure is the part beyond the caption
        if side == "above":
            bbox = (bbox[0], bbox[1], bbox[2], min(bbox[3], group.bbox[1]))
        else:
            bbox = (bbox[0], max(bbox[1], group.bbox[3]), bbox[2], bbox[3])
        matches.append(Match(group, taken, bbox))
        free -= set(taken)
        pending.remove(group)
    return matches


def _zones(
    cap: Rect, walls: list[Rect], clusters: list[Cluster], free: set[int], page_h: float
) -> list[tuple[float, list[int], str]]:
    """(gap to the nearest seed, clusters in the zone, side) above and below a caption.

    A cluster belongs to the zone when its edge facing the caption lies between the
    caption and the nearest wall (body text, another caption); it may reach past the
    wall (a table's rows) or around the caption (a frame drawn round figure and caption).
    """
    found = []
    column = [
        i
        for i in free
        if h_overlap(clusters[i].bbox, cap)
        >= 0.2 * min(clusters[i].bbox[2] - clusters[i].bbox[0], cap[2] - cap[0])
    ]
    beside = [w for w in walls if h_overlap(w, cap) > 0]
    top = max([w[3] for w in beside if w[3] <= cap[1] + 1.0], default=0.0)
    bottom = min([w[1] for w in beside if w[1] >= cap[3] - 1.0], default=page_h)
    boxes = {i: clusters[i].bbox for i in column}
    # a cluster round the caption counts on the side where most of it lies, when it
    # reaches well beyond the caption (a shaded caption box does not)
    above = [
        i
        for i, b in boxes.items()
        if b[1] < cap[1] - 1.0
        and b[3] >= top - 3.0
        and (b[3] <= cap[1] + 3.0 or cap[1] - b[1] >= max(FRAME_REACH, b[3] - cap[3]))
    ]
    below = [
        i
        for i, b in boxes.items()
        if b[3] > cap[3] + 1.0
        and b[1] <= bottom + 3.0
        and (b[1] >= cap[3] - 3.0 or b[3] - cap[3] >= max(FRAME_REACH, cap[1] - b[1]))
    ]
    for members, side in ((above, "above"), (below, "below")):
        gaps = [
            cap[1] - clusters[i].bbox[3] if side == "above" else clusters[i].bbox[1] - cap[3]
            for i in members
            if clusters[i].seed
        ]
        if gaps:
            band = (top - 3.0, cap[3] + 3.0) if side == "above" else (cap[1] - 3.0, bottom + 3.0)
            members = _spread(members, clusters, free, band)
            found.append((max(min(gaps), 0.0), sorted(members), side))
    return found


def _spread(
    members: list[int], clusters: list[Cluster], free: set[int], band: tuple[float, float]
) -> list[int]:
    """Add free clusters next to the region within the zone's band: a figure can be wider
    than its caption's column (a full-width schematic over a one-column caption)."""
    members = list(members)
    box = clusters[members[0]].bbox
    for i in members[1:]:
        box = union(box, clusters[i].bbox)
    grew = True
    while grew:
        grew = False
        for i in sorted(free - set(members)):
            b = clusters[i].bbox
            if band[0] <= b[1] and b[3] <= band[1] and intersection(expand(box, SPREAD_GAP), b):
                members.append(i)
                box = union(box, b)
                grew = True
    return members
