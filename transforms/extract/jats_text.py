"""Readable text from JATS elements: captions with math, mentions with sentence splits."""

from __future__ import annotations

import html.entities
import re

from lxml import etree

# left out of caption text: eLife source data and other attached files
SKIP_IN_TEXT = frozenset({"supplementary-material", "media", "object-id", "alt-text", "long-desc"})
MATH_TAGS = frozenset({"math", "tex-math"})
SPACED_OPERATORS = frozenset("=<>≤≥≈≠±×→←↔∼~≡∝")
_TEX_PREAMBLE = re.compile(r"\\documentclass.*?\\begin\{document\}|\\end\{document\}", re.S)
_TEX_WRAPPERS = re.compile(r"\\(?:mathrm|mathit|mathbf|text|textrm|mbox|rm|mathsf|boldsymbol)\s*")
_TEX_USEPACKAGE = re.compile(r"\\usepackage(\[[^\]]*\])?\{[^}]*\}|\\setlength\{[^}]*\}\{[^}]*\}")
GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ",
    "Lambda": "Λ", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "pm": "±",
    "times": "×", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "approx": "≈",
    "sim": "∼", "infty": "∞", "cdot": "·", "rightarrow": "→", "to": "→", "circ": "°",
    "prime": "′", "sqrt": "√", "sum": "Σ", "partial": "∂", "nabla": "∇", "langle": "⟨",
    "rangle": "⟩", "left": "", "right": "", "quad": " ", "qquad": " ",
}  # fmt: skip
_TEX_COMMAND = re.compile(r"\\([A-Za-z]+)")


def local(tag: object) -> str:
    """Local name of an element tag; '' for comments, PIs and entities."""
    if type(tag) is not str:
        return ""
    return tag if tag[0] != "{" else tag.rsplit("}", 1)[-1]


def first_child(el: etree._Element, name: str) -> etree._Element | None:
    """`el.find(name)` for a bare name, without the ElementPath machinery per call."""
    for child in el:
        if child.tag == name:
            return child
    return None


def nearest_ancestor(el: etree._Element, names: frozenset[str]) -> etree._Element | None:
    """Closest ancestor with one of these tags (getparent steps: iterancestors(*tags) builds
    a tag matcher on every call, which costs more)."""
    node = el.getparent()
    while node is not None and node.tag not in names:
        node = node.getparent()
    return node


def squash(text: str) -> str:
    """White space runs to one space, ends stripped."""
    # most text has no white space but single spaces; isprintable() says so in one C pass
    # (every other white space character is a separator or control), split() costs twice that
    if text.isprintable() and "  " not in text:
        return text.strip(" ")
    return " ".join(text.split())


def tex_to_text(tex: str) -> str:
    tex = _TEX_PREAMBLE.sub(" ", tex)
    tex = _TEX_USEPACKAGE.sub(" ", tex)
    tex = tex.replace("$", " ")
    tex = _TEX_WRAPPERS.sub("", tex)
    tex = _TEX_COMMAND.sub(lambda m: GREEK.get(m.group(1), m.group(1)), tex)
    tex = tex.replace("{", "").replace("}", "").replace("\\,", " ").replace("\\ ", " ")
    return squash(tex)


def _group(text: str) -> str:
    return text if len(text) <= 1 or text.isalnum() else f"({text})"


def math_to_text(el: etree._Element) -> str:
    """MathML rendered as plain readable text: x^2, a/b, √(x), p < 0.05."""
    name = local(el.tag)
    kids = [c for c in el if local(c.tag)]
    if name in ("mi", "mn", "mtext", "ms"):
        return squash("".join(el.itertext()))
    if name == "mo":
        op = squash("".join(el.itertext()))
        return f" {op} " if op in SPACED_OPERATORS else op
    if name == "mspace":
        return " "
    if name in ("annotation", "annotation-xml"):
        return ""
    if name == "semantics":
        return math_to_text(kids[0]) if kids else ""
    parts = [math_to_text(c) for c in kids]
    if name == "msup" and len(parts) == 2:
        return f"{parts[0]}^{_group(parts[1])}"
    if name == "msub" and len(parts) == 2:
        return f"{parts[0]}_{_group(parts[1])}"
    if name == "msubsup" and len(parts) == 3:
        return f"{parts[0]}_{_group(parts[1])}^{_group(parts[2])}"
    if name == "mfrac" and len(parts) == 2:
        return f"{_group(parts[0])}/{_group(parts[1])}"
    if name == "msqrt":
        return f"√({''.join(parts)})"
    if name == "mroot" and len(parts) == 2:
        return f"{parts[1]}√({parts[0]})"
    if name == "mfenced":
        return f"{el.get('open', '(')}{','.join(parts)}{el.get('close', ')')}"
    if name in ("mover", "munder", "munderover") and parts:
        return "".join(parts)
    if not kids:
        return squash("".join(el.itertext()))
    return "".join(parts)


def _formula_text(el: etree._Element) -> str:
    """A formula: MathML first, then TeX, then the alt text of its image."""
    for choice in ("math", "tex-math", "inline-graphic", "graphic"):
        for node in el.iter():
            if local(node.tag) != choice:
                continue
            if choice == "math":
                return squash(math_to_text(node))
            if choice == "tex-math":
                return tex_to_text("".join(node.itertext()))
            return _alt_text(node)
    return squash("".join(el.itertext()))


def _alt_text(el: etree._Element) -> str:
    for child in el:
        if local(child.tag) == "alt-text":
            return squash("".join(child.itertext()))
    return squash(el.get("alt") or "")


def _entity_text(node: etree._Entity) -> str:
    """The character an entity the document did not declare stands for: a character
    reference, or a name of the HTML/ISO sets the JATS DTD declares; any other is kept as
    it was written ("&foo;"), never dropped."""
    name = node.name
    if name.startswith("#"):
        try:
            code = int(name[2:], 16) if name[1:2] in "xX" else int(name[1:])
            return chr(code)
        except (ValueError, OverflowError):
            return f"&{name};"
    code = html.entities.name2codepoint.get(name)
    return chr(code) if code is not None else f"&{name};"


def has_unknown_entity(el: etree._Element | None) -> bool:
    """Whether text below `el` holds an entity reference kept as literal text."""
    if el is None:
        return False
    return any(_entity_text(node).startswith("&") for node in el.iter(etree.Entity))


FORMULAS = frozenset({"inline-formula", "disp-formula", "math", "tex-math"})
SPACE_AROUND = frozenset({"break", "p", "title", "list-item", "def-item"})
SPECIAL = SKIP_IN_TEXT | FORMULAS | SPACE_AROUND | {"inline-graphic"}


def _walk(el: etree._Element, out: list[str]) -> None:
    name = local(el.tag)
    if name in SPECIAL:
        if name in SKIP_IN_TEXT:
            return
        if name in FORMULAS:
            text = _formula_text(el)
            out.append(f" {text} " if name == "disp-formula" else text)
            return
        if name == "inline-graphic":
            out.append(_alt_text(el))
            return
        if name in SPACE_AROUND:
            out.append(" ")
    if el.text:
        out.append(el.text)
    for child in el:
        tag = child.tag
        if type(tag) is str:
            if len(child) == 0 and local(tag) not in SPECIAL:
                if child.text:
                    out.append(child.text)  # leaf fast path: most inline markup
            else:
                _walk(child, out)
        elif isinstance(child, etree._Entity):
            out.append(_entity_text(child))
        if child.tail:
            out.append(child.tail)
    if name in SPACE_AROUND:
        out.append(" ")


# below an element, these need the Python walk; anything else is plain text for libxml2
WALK_TAGS = SKIP_IN_TEXT | FORMULAS | SPACE_AROUND | {"inline-graphic"}


def needs_walk(el: etree._Element) -> bool:
    """Whether anything below `el` needs the Python walk (math, attached files, breaks)."""
    # a Python loop: el.iter(*tags) builds a tag matcher on every call, which costs more
    for node in el.iterdescendants():
        tag = node.tag
        if type(tag) is str and (tag in WALK_TAGS or tag.endswith("}math")):
            return True
        if tag is etree.Entity:  # libxml2's text serialiser drops undeclared entities
            return True
    return False


def plain_text(el: etree._Element) -> str:
    return squash(etree.tostring(el, method="text", encoding=str, with_tail=False))


def element_text(el: etree._Element | None) -> str:
    """Text of an element, with math rendered and attached files left out."""
    if el is None:
        return ""
    if len(el) == 0:  # no children: the text is all there is
        return squash(el.text or "")
    if not needs_walk(el):
        return plain_text(el)
    out: list[str] = []
    _walk(el, out)
    return squash("".join(out))
