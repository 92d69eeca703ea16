"""Markup to prose: reStructuredText, device-tree YAML, roff man pages, HTML, Markdown, C headers.

Each converter is a pure ``str -> str`` function that keeps the words and the code samples a
reader would see and drops the markup around them. Unicode and whitespace normalisation come
later (tools.data.clean); these only remove syntax.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Literal

import yaml

Format = Literal["rst", "yaml", "roff", "html", "markdown", "c", "text"]

_SUFFIX_FORMATS: dict[str, Format] = {
    ".rst": "rst",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".h": "c",
    ".txt": "text",
}
_MAN_SUFFIX = re.compile(r"\.[1-9][a-z]*$")


def format_of(name: str) -> Format:
    """The markup format of a file name (``.gz`` already removed); plain text when unknown."""
    lower = name.lower()
    for suffix, fmt in _SUFFIX_FORMATS.items():
        if lower.endswith(suffix):
            return fmt
    if _MAN_SUFFIX.search(lower):
        return "roff"
    return "text"


# --- reStructuredText -------------------------------------------------------------------------

_RST_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}\s*$")
_RST_TABLE_BORDER = re.compile(r"^\s*[+|]?[-=+|_ ]{3,}[+|]?\s*$")
_RST_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:-]+)::\s*(.*)$")
_RST_COMMENT = re.compile(r"^\s*\.\.(\s|$)(?!.*::)")
_RST_ROLE = re.compile(r":[\w:+-]+:`([^`]*)`")
_RST_LINK = re.compile(r"`([^`<]+?)\s*<[^>]*>`_{1,2}")
_RST_REF = re.compile(r"`([^`]+)`_{1,2}")
_RST_LITERAL = re.compile(r"``([^`]+)``")
_RST_INTERPRETED = re.compile(r"`([^`]+)`")
_RST_EMPHASIS = re.compile(r"(?<![\w*])\*{1,2}([^*\s][^*]*?)\*{1,2}(?![\w*])")
_RST_FIELD = re.compile(r"^(\s*):([\w ]+):\s*")
_ROLE_TARGET = re.compile(r"^(.*?)\s*<[^>]*>$")
# directives whose body is not prose for a reader (build machinery, embedded markup)
_RST_SKIP_BODY = {
    "toctree",
    "kernel-doc",
    "kernel-abi",
    "kernel-feat",
    "raw",
    "only",
    "include",
    "image",
    "figure",
    "kernel-figure",
    "kernel-image",
    "kernel-render",
    "graphviz",
    "contents",
    "sectnum",
    "tabularcolumns",
    "cssclass",
    "highlight",
    "default-domain",
    "c:namespace",
    "c:namespace-push",
    "c:namespace-pop",
    "_",
}


def _role_text(m: re.Match[str]) -> str:
    inner = m.group(1)
    target = _ROLE_TARGET.match(inner)
    return (target.group(1) if target else inner).lstrip("~!")


def _rst_inline(line: str) -> str:
    line = _RST_ROLE.sub(_role_text, line)
    line = _RST_LINK.sub(r"\1", line)
    line = _RST_LITERAL.sub(r"\1", line)
    line = _RST_REF.sub(r"\1", line)
    line = _RST_INTERPRETED.sub(r"\1", line)
    return _RST_EMPHASIS.sub(r"\1", line)


def rst_to_text(text: str) -> str:
    out: list[str] = []
    skip_indent: int | None = None  # inside a skipped block: drop lines indented deeper than this
    for raw in text.splitlines():
        stripped = raw.strip()
        indent = len(raw) - len(raw.lstrip())
        if skip_indent is not None:
            if not stripped or indent > skip_indent:
                continue
            skip_indent = None
        if _RST_ADORNMENT.match(stripped) or (stripped and _RST_TABLE_BORDER.match(raw) and "-" in raw):
            continue
        d = _RST_DIRECTIVE.match(raw)
        if d:
            name, arg = d.group(2).lower(), d.group(3).strip()
            if name in _RST_SKIP_BODY:
                skip_indent = indent
            elif arg and name not in ("code-block", "code", "literalinclude"):
                out.append(d.group(1) + _rst_inline(arg))
            continue
        if _RST_COMMENT.match(raw):
            skip_indent = indent
            continue
        if stripped == "::":
            out.append("")
            continue
        line = raw[:-1] if stripped.endswith("::") and not stripped.endswith(":::") else raw
        line = _RST_FIELD.sub(r"\1\2: ", line) if _RST_FIELD.match(line) else line
        out.append(_rst_inline(line.replace("|", " ") if _RST_TABLE_BORDER.match(raw) else line))
    return "\n".join(out)


# --- device-tree binding YAML -----------------------------------------------------------------


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _strings_under(node: object, keys: tuple[str, ...]) -> list[str]:
    """All scalar strings found under any of ``keys`` at any depth (e.g. const/enum of compatible)."""
    found: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k in keys:
                values = v if isinstance(v, list) else [v]
                found.extend(str(x) for x in values if isinstance(x, str | int))
            found.extend(_strings_under(v, keys))
    elif isinstance(node, list):
        for item in node:
            found.extend(_strings_under(item, keys))
    return found


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def yaml_to_text(text: str) -> str:
    """A device-tree schema (or any YAML mapping) as prose: title, descriptions, properties, examples."""
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError:
        return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    if not isinstance(data, dict):
        return text
    out: list[str] = []
    if isinstance(data.get("title"), str):
        out += [data["title"].strip(), ""]
    if isinstance(data.get("description"), str):
        out += [data["description"].strip(), ""]
    props = data.get("properties")
    if isinstance(props, dict):
        compatible = _dedupe(_strings_under(props.get("compatible"), ("const", "enum")))
        if compatible:
            out += [f"Compatible strings: {', '.join(compatible)}.", ""]
        lines = []
        for name, spec in props.items():
            desc = spec.get("description") if isinstance(spec, dict) else None
            if isinstance(desc, str) and desc.strip():
                lines.append(f"{name}: {' '.join(desc.split())}")
            elif name != "compatible":
                lines.append(f"{name}")
        if lines:
            out += ["Properties:", *lines, ""]
    required = data.get("required")
    if isinstance(required, list) and required:
        out += [f"Required properties: {', '.join(str(r) for r in required)}.", ""]
    for example in data.get("examples") or []:
        if isinstance(example, str):
            out += ["Example:", example.rstrip(), ""]
    return "\n".join(out)


# --- roff (man and mdoc macros) ---------------------------------------------------------------

_ROFF_NAMED = {
    "em": "\u2014",
    "en": "\u2013",
    "hy": "-",
    "bu": "\u2022",
    "co": "\u00a9",
    "rg": "\u00ae",
    "lq": "\u201c",
    "rq": "\u201d",
    "oq": "\u2018",
    "cq": "\u2019",
    "aq": "'",
    "dq": '"',
    "ga": "`",
    "ti": "~",
    "ha": "^",
    "rs": "\\",
    "mu": "\u00d7",
    "de": "\u00b0",
    "+-": "\u00b1",
    "<=": "\u2264",
    ">=": "\u2265",
    "!=": "\u2260",
    "->": "\u2192",
    "<-": "\u2190",
    "sq": "\u25a1",
    "ba": "|",
    "br": "|",
    "ul": "_",
    "pl": "+",
    "mi": "-",
    "eq": "=",
    "sl": "/",
    "ts": "\u03c2",
}
_ROFF_ESCAPE = re.compile(
    r"\\(?:"
    r"\((?P<two>..)"  # \(xx
    r"|\[(?P<long>[^\]]*)\]"  # \[name]
    r"|f(?:\[[^\]]*\]|\(..|.)"  # font \fB \f(CW \f[B]
    r"|[sS][+-]?\d+"  # size
    r"|[kmgnY*](?:\(..|\[[^\]]*\]|.)"  # registers, strings, colours
    r"|[hvwlLoxbDRXZ]'[^']*'"  # motions and other quoted-argument escapes
    r"|\"[^\n]*"  # comment to end of line
    r"|(?P<char>.)"
    r")"
)
_ROFF_SINGLE = {
    "-": "-",
    "e": "\\",
    "\\": "\\",
    "~": " ",
    " ": " ",
    "0": " ",
    "|": "",
    "^": "",
    "&": "",
    ".": ".",
    "'": "'",
    "`": "`",
    "c": "",
    "%": "",
    ")": "",
    "/": "",
    ",": "",
    ":": "",
    "t": "\t",
    "a": "",
    "p": "",
    "{": "",
    "}": "",
    "!": "",
    "z": "",
}
_ROFF_BREAK = {
    "PP",
    "LP",
    "P",
    "sp",
    "br",
    "Pp",
    "Lp",
    "Bl",
    "El",
    "Bd",
    "Ed",
    "RS",
    "RE",
    "HP",
    "IP",
    "TP",
    "TQ",
    "ne",
    "in",
    "nf",
    "fi",
    "ad",
    "na",
    "hy",
    "nh",
    "ti",
    "ta",
    "ft",
    "ps",
    "vs",
    "ll",
    "bp",
    "ns",
    "rs",
    "It",
}
_ROFF_IGNORE = {
    "TH",
    "Dd",
    "Dt",
    "Os",
    "so",
    "ds",
    "nr",
    "ie",
    "el",
    "if",
    "tr",
    "cc",
    "ec",
    "eo",
    "ig",
    "UC",
    "PD",
    "DT",
    "hw",
    "mso",
    "do",
    "lf",
    "cs",
    "ss",
    "tm",
    "ev",
    "am",
    "als",
    "rm",
    "rn",
    "char",
    "fam",
    "pc",
    "ch",
    "wh",
    "em",
    "Ex",
    "Rv",
}
_ROFF_HEADING = {"SH", "Sh", "SS", "Ss"}
_ROFF_ARGS = re.compile(r'"((?:[^"]|"")*)"|((?:\\.|\S)+)')  # an escaped space does not split


def _roff_escape(m: re.Match[str]) -> str:
    if m.group("two") is not None:
        return _ROFF_NAMED.get(m.group("two"), "")
    if m.group("long") is not None:
        name = m.group("long")
        if name.startswith("u") and re.fullmatch(r"u[0-9A-Fa-f]{4,6}", name):
            return chr(int(name[1:], 16))
        return _ROFF_NAMED.get(name, "")
    if m.group("char") is not None:
        return _ROFF_SINGLE.get(m.group("char"), m.group("char"))
    return ""


def _roff_inline(s: str) -> str:
    return _ROFF_ESCAPE.sub(_roff_escape, s)


def _roff_args(rest: str) -> list[str]:
    return [a if a is not None and b == "" else b for a, b in _ROFF_ARGS.findall(rest)]


def roff_to_text(text: str) -> str:
    out: list[str] = []
    in_macro_def = False
    in_table = False
    defined: set[str] = set()  # macros the page defines: their calls are layout we cannot expand
    for line in text.splitlines():
        if in_macro_def:
            in_macro_def = line.strip() != ".."
            continue
        if line.startswith(('.\\"', "'\\\"", '.\\"', '\\"')):
            continue
        if line.startswith((".", "'")):
            parts = line[1:].strip().split(None, 1)
            if not parts:
                continue
            name, rest = parts[0], parts[1] if len(parts) > 1 else ""
            if name in ("de", "de1", "am"):
                in_macro_def = True
                defined.update(rest.split()[:1])
                continue
            if name in defined:
                continue
            if name == "TS":
                in_table = True
                continue
            if name == "TE":
                in_table = False
                continue
            if name in _ROFF_IGNORE:
                continue
            args = " ".join(_roff_inline(a) for a in _roff_args(rest))
            if name in _ROFF_HEADING:
                out += ["", args.strip(), ""]
            elif name in _ROFF_BREAK:
                out.append("")
                tag = _roff_args(rest)[:1]  # .IP tag indent: the indent is layout, not text
                if tag and name in ("IP", "It", "TQ"):
                    out.append(_roff_inline(tag[0]))
            elif name in (
                "B",
                "I",
                "SM",
                "SB",
                "Nm",
                "Fn",
                "Cm",
                "Ar",
                "Pa",
                "Ev",
                "Va",
                "Dv",
                "Er",
                "Ic",
                "Li",
                "Sy",
                "Em",
                "Ms",
                "Tn",
                "Ux",
                "At",
                "Bx",
                "Ql",
                "Dq",
                "Sq",
                "Pq",
                "Qq",
                "Op",
                "Oo",
                "Oc",
                "Xr",
                "Ad",
                "An",
                "Cd",
                "Ft",
                "Fa",
                "Lk",
                "Mt",
                "Ot",
                "St",
                "Vt",
            ):
                out.append(args)
            elif name in ("BR", "RB", "BI", "IB", "IR", "RI"):
                out.append("".join(_roff_inline(a) for a in _roff_args(rest)))
            elif name == "Fl":
                out.append(" ".join("-" + a for a in args.split()) if args else "-")
            elif name == "Nd":
                out.append(f"- {args}")
            elif name in ("UR", "MT", "UE", "ME"):
                out.append(args)
            else:
                out.append(args)
            continue
        if in_table:
            if re.fullmatch(r"[a-zA-Z0-9|. ,]*\.?\s*", line) and line.rstrip().endswith("."):
                continue  # tbl format line
            out.append(_roff_inline(line).replace("\t", "  "))
            continue
        out.append(_roff_inline(line))
    return "\n".join(out)


def man_name_line(text: str) -> str | None:
    """The NAME line of a roff man page ("ls - list directory contents"), or None."""
    prose = roff_to_text(text)
    lines = prose.splitlines()
    for i, line in enumerate(lines):
        if line.strip().upper() in ("NAME", "NAMN", "NOM"):
            body: list[str] = []
            for nxt in lines[i + 1 :]:
                if not nxt.strip():
                    if body:
                        break
                    continue
                if nxt.strip().isupper() and len(nxt.split()) <= 3:
                    break
                body.append(nxt.strip())
            joined = " ".join(" ".join(body).split())
            return joined or None
    return None


# --- HTML -------------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    SKIP = {"script", "style", "nav", "header", "footer", "head", "noscript", "svg", "button"}
    BLOCK = {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "dt",
        "dd",
        "table",
        "section",
        "blockquote",
        "ul",
        "ol",
        "dl",
    }
    # Sphinx chrome that carries no content: sidebars, permalink anchors, "view source" links
    SKIP_CLASSES = {
        "sphinxsidebar",
        "wy-nav-side",
        "headerlink",
        "rst-footer-buttons",
        "related",
        "wy-breadcrumbs",
        "footer",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_stack: list[str] = []
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = set((dict(attrs).get("class") or "").split())
        if self.skip_stack or tag in self.SKIP or classes & self.SKIP_CLASSES:
            if tag not in ("br", "img", "meta", "link", "input", "hr"):
                self.skip_stack.append(tag)
            return
        if tag == "pre":
            self.pre += 1
        if tag in self.BLOCK and not (self.parts and self.parts[-1] == "- "):  # <li><p>: keep the bullet
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if self.skip_stack:
            if self.skip_stack[-1] == tag:
                self.skip_stack.pop()
            return
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in self.BLOCK or tag in ("h1", "h2", "h3"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip_stack:
            return
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(text: str) -> str:
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return "\n".join(
        line.strip() if not line.startswith("  ") else line.rstrip()
        for line in "".join(parser.parts).splitlines()
    )


# --- Markdown ---------------------------------------------------------------------------------

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_MD_EMPHASIS = re.compile(r"(?<![\w*])(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_MD_SETEXT = re.compile(r"^\s*(=+|-+)\s*$")
_MD_CODE = re.compile(r"`([^`]+)`")


def markdown_to_text(text: str) -> str:
    out = []
    for line in text.splitlines():
        if line.strip().startswith("```") or _MD_SETEXT.match(line):
            continue
        line = _MD_HEADING.sub("", line)
        line = _MD_LINK.sub(r"\1", line)
        line = _MD_CODE.sub(r"\1", line)
        out.append(_MD_EMPHASIS.sub(r"\2", line))
    return "\n".join(out)


# --- C headers --------------------------------------------------------------------------------

_LICENSE_COMMENT = re.compile(
    r"/\*(?:(?!\*/).)*?(SPDX|Copyright|GNU General Public|License)(?:(?!\*/).)*\*/", re.S
)
_SPDX_LINE = re.compile(r"^\s*//\s*SPDX.*$", re.M)
_INCLUDE_GUARD = re.compile(r"^#(ifndef|define|endif)\s+(/[*/]\s*)?_*[A-Z0-9_]*_H_*\b.*$", re.M)


def c_header_to_text(text: str) -> str:
    """A header with its licence boilerplate and include guards removed; code and comments stay."""
    text = _LICENSE_COMMENT.sub("", text, count=2)
    text = _SPDX_LINE.sub("", text)
    return _INCLUDE_GUARD.sub("", text)


_CONVERTERS = {
    "rst": rst_to_text,
    "yaml": yaml_to_text,
    "roff": roff_to_text,
    "html": html_to_text,
    "markdown": markdown_to_text,
    "c": c_header_to_text,
}


def to_prose(text: str, fmt: Format) -> str:
    convert = _CONVERTERS.get(fmt)
    return convert(text) if convert else text
