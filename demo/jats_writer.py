"""Write a demo article as JATS XML (the PMC `.nxml` flavour) with lxml."""

from __future__ import annotations

from lxml import etree

from demo.model import ArticlePlan, FigurePlan
from demo.text import Math, Parts

XLINK = "http://www.w3.org/1999/xlink"
MML = "http://www.w3.org/1998/Math/MathML"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
HREF = f"{{{XLINK}}}href"
DOCTYPE = (
    '<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange '
    'DTD v1.3 20210610//EN" "JATS-archivearticle1-3.dtd">'
)
MIMETYPES = {"jpeg": ("image", "jpeg"), "png": ("image", "png"), "tiff": ("image", "tiff")}


def sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, tag, {k.replace("_", "-"): v for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def _append_text(el: etree._Element, text: str) -> None:
    kids = list(el)
    if kids:
        kids[-1].tail = (kids[-1].tail or "") + text
    else:
        el.text = (el.text or "") + text


def _mathml(parent: etree._Element, math: Math) -> None:
    root = etree.SubElement(parent, f"{{{MML}}}math")
    if math.symbol == "R2":
        sup = etree.SubElement(root, f"{{{MML}}}msup")
        etree.SubElement(sup, f"{{{MML}}}mi").text = "R"
        etree.SubElement(sup, f"{{{MML}}}mn").text = "2"
    else:
        etree.SubElement(root, f"{{{MML}}}mi").text = math.symbol
    etree.SubElement(root, f"{{{MML}}}mo").text = math.op
    etree.SubElement(root, f"{{{MML}}}mn").text = math.value


def append_parts(el: etree._Element, parts: Parts, math_mode: str | None) -> None:
    """Mixed content: strings as text, formulas as MathML, TeX or plain unicode."""
    for part in parts:
        if isinstance(part, str):
            _append_text(el, part)
        elif math_mode == "mathml":
            _mathml(sub(el, "inline-formula"), part)
        elif math_mode == "tex":
            tex = sub(sub(el, "inline-formula"), "tex-math")
            tex.text = etree.CDATA(f"${part.tex}$")
        else:
            _append_text(el, part.unicode)


def _front(article: etree._Element, plan: ArticlePlan) -> None:
    front = sub(article, "front")
    journal = sub(front, "journal-meta")
    sub(journal, "journal-id", plan.journal.lower().replace(" ", "-"), journal_id_type="nlm-ta")
    sub(sub(journal, "journal-title-group"), "journal-title", plan.journal)
    meta = sub(front, "article-meta")
    sub(meta, "article-id", plan.pmid, pub_id_type="pmid")
    sub(meta, "article-id", plan.pmcid, pub_id_type="pmc")
    sub(meta, "article-id", plan.doi, pub_id_type="doi")
    sub(sub(meta, "title-group"), "article-title", plan.title)
    group = sub(meta, "contrib-group")
    for given, surname in plan.authors:
        name = sub(sub(group, "contrib", contrib_type="author"), "name")
        sub(name, "surname", surname)
        sub(name, "given-names", given)
    date = sub(meta, "pub-date", pub_type="epub")
    sub(date, "year", str(plan.year))
    perms = sub(meta, "permissions")
    sub(perms, "copyright-statement", f"© {plan.year} The Authors")
    lic = sub(perms, "license", license_type="open-access")
    lic.set(HREF, plan.license_url)
    text = sub(lic, "license-p", "This is an open access article distributed under the terms of ")
    link = sub(text, "ext-link", "a Creative Commons license", ext_link_type="uri")
    link.set(HREF, plan.license_url)
    link.tail = "."


def _caption(fig: etree._Element, title: str | None, parts: Parts, math: str | None) -> None:
    caption = sub(fig, "caption")
    if title:
        sub(caption, "title", title)
    append_parts(sub(caption, "p"), parts, math)


def _graphics(fig: etree._Element, plan: FigurePlan) -> None:
    major, minor = MIMETYPES[plan.fmt]
    if plan.thumb_href is None:
        graphic = sub(fig, "graphic", mimetype=major, mime_subtype=minor)
        graphic.set(HREF, plan.href)
        return
    alternatives = sub(fig, "alternatives")
    thumb = sub(alternatives, "graphic", specific_use="thumbnail", mimetype="image")
    thumb.set(HREF, plan.thumb_href)
    full = sub(alternatives, "graphic", specific_use="print", mimetype=major, mime_subtype=minor)
    full.set(HREF, plan.href)


def figure_element(parent: etree._Element, plan: FigurePlan) -> None:
    if plan.group_id is None:
        fig = sub(parent, "fig", id=plan.fig_id, position="float")
        sub(fig, "label", plan.label)
        if plan.parts is not None:
            _caption(fig, plan.title, plan.parts, plan.math)
        _graphics(fig, plan)
        return
    # a bilingual group: only the English fig carries the graphic
    group = sub(parent, "fig-group", id=plan.group_id)
    fig = sub(group, "fig", id=plan.fig_id, position="float")
    fig.set(XML_LANG, "en")
    sub(fig, "label", plan.label)
    _caption(fig, plan.title, plan.parts or [], plan.math)
    _graphics(fig, plan)
    other = sub(group, "fig", id=f"{plan.group_id}-es", position="float")
    other.set(XML_LANG, "es")
    sub(other, "label", plan.label.replace("Figure", "Figura"))
    sub(sub(other, "caption"), "p", plan.caption_es)


def _body(article: etree._Element, plan: ArticlePlan) -> None:
    body = sub(article, "body")
    intro = sub(body, "sec", id="s1")
    sub(intro, "title", "Introduction")
    for text in plan.paragraphs:
        sub(intro, "p", text)
    if not plan.figures:
        return
    results = sub(body, "sec", id="s2")
    sub(results, "title", "Results")
    for fig in plan.figures:
        before, after = fig.mention.split("{ref}")
        para = sub(results, "p", before)
        xref = sub(para, "xref", fig.label, ref_type="fig", rid=fig.cite_id)
        xref.tail = after + " Further details are in the Methods."
    for fig in plan.figures:
        figure_element(results, fig)


def article_xml(plan: ArticlePlan) -> bytes:
    nsmap = {"xlink": XLINK, "mml": MML}
    article = etree.Element("article", nsmap=nsmap)
    article.set("article-type", plan.article_type)
    article.set("dtd-version", "1.3")
    article.set(XML_LANG, "en")
    _front(article, plan)
    _body(article, plan)
    return etree.tostring(
        article, xml_declaration=True, encoding="UTF-8", doctype=DOCTYPE, pretty_print=True
    )
