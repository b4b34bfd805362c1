"""An AsyncAPI 3.0 document as one readable HTML page, rendered on the server.

Servers (with their security), channels, operations, and each message with its headers and
payload fields (type, rules, personal data), plus the nested schemas the payloads refer to.
Every value is escaped; the page has no script and loads nothing from elsewhere.
"""

from __future__ import annotations

from html import escape
from typing import Any

type Node = dict[str, Any]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:75rem;padding:0 1rem;
color:#1a1a1a}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}code{background:#f6f6f6;padding:0 .2rem}
.pd{color:#a00;font-weight:600}.send{color:#064}.receive{color:#036}
"""

_RULES = (
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "const",
    "enum",
    "default",
)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _link(kind: str, name: str) -> str:
    return f'<a href="#{kind}-{escape(name)}">{escape(name)}</a>'


def _type(schema: Node) -> str:
    """A field's type in words, linking the named schemas it refers to."""
    if "$ref" in schema:
        return _link("schema", _ref_name(schema["$ref"]))
    for combiner in ("anyOf", "oneOf", "allOf"):
        if combiner in schema:
            return " | ".join(_type(option) for option in schema[combiner])
    kind = schema.get("type", "constant" if "const" in schema else "any")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if isinstance(kind, list):
        return " | ".join(escape(str(k)) for k in kind)
    return escape(str(kind))


def _personal(schema: Node) -> bool:
    options = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
    return any(option.get("x-personal-data") for option in options)


def _rules(schema: Node) -> str:
    options = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
    found = [
        f"{rule}: <code>{escape(str(option[rule]))}</code>"
        for option in options
        for rule in _RULES
        if rule in option
    ]
    return "<br>".join(found)


def _fields(schema: Node) -> str:
    """A table of an object schema's properties (or a line for any other schema)."""
    properties: Node = schema.get("properties", {})
    if not properties:
        text = escape(str(schema.get("description", "")))
        return f"<p>{_type(schema) if schema else 'any'}{': ' + text if text else ''}</p>"
    required = set(schema.get("required", []))
    rows = [
        "<tr>"
        f"<td><code>{escape(name)}</code>"
        f"{' <span class="pd">personal data</span>' if _personal(field) else ''}</td>"
        f"<td>{_type(field)}</td><td>{'yes' if name in required else ''}</td>"
        f"<td>{_rules(field)}</td><td>{escape(str(field.get('description', '')))}</td>"
        "</tr>"
        for name, field in sorted(properties.items())
    ]
    head = "<tr><th>field</th><th>type</th><th>required</th><th>rules</th><th>meaning</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _resolve(document: Node, node: Node) -> Node:
    if "$ref" not in node:
        return node
    target: Any = document
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    resolved: Node = target
    return resolved


def _servers(document: Node) -> str:
    rows = []
    for name, server in document.get("servers", {}).items():
        security = [_ref_name(s["$ref"]) for s in server.get("security", []) if "$ref" in s]
        rows.append(
            f"<tr><td>{escape(name)}</td><td><code>{escape(server['host'])}</code></td>"
            f"<td>{escape(server['protocol'])}</td>"
            f"<td>{escape(', '.join(security) or 'none (plaintext)')}</td>"
            f"<td>{escape(server.get('description', ''))}</td></tr>"
        )
    schemes = document.get("components", {}).get("securitySchemes", {})
    notes = "".join(
        f"<li><code>{escape(n)}</code> ({escape(s['type'])}): "
        f"{escape(s.get('description', ''))}</li>"
        for n, s in schemes.items()
    )
    head = "<tr><th>server</th><th>host</th><th>protocol</th><th>security</th><th></th></tr>"
    return f"<h2>Servers</h2><table>{head}{''.join(rows)}</table><ul>{notes}</ul>"


def _channels(document: Node) -> str:
    rows = []
    for key, channel in document.get("channels", {}).items():
        messages = ", ".join(_link("message", n) for n in channel.get("messages", {}))
        rows.append(
            f'<tr id="channel-{escape(key)}"><td><code>{escape(channel["address"])}</code></td>'
            f"<td>{messages}</td><td>{escape(channel.get('description', ''))}</td></tr>"
        )
    head = "<tr><th>topic</th><th>messages</th><th></th></tr>"
    return f"<h2>Channels</h2><table>{head}{''.join(rows)}</table>"


def _operations(document: Node) -> str:
    rows = []
    channels = document.get("channels", {})
    for key, operation in document.get("operations", {}).items():
        channel = channels[_ref_name(operation["channel"]["$ref"])]
        messages = ", ".join(_link("message", _ref_name(m["$ref"])) for m in operation["messages"])
        action = escape(operation["action"])
        rows.append(
            f'<tr><td><code>{escape(key)}</code></td><td class="{action}">{action}</td>'
            f"<td><code>{escape(channel['address'])}</code></td>"
            f"<td>{escape(operation.get('x-consumer-group', ''))}</td><td>{messages}</td></tr>"
        )
    head = "<tr><th>operation</th><th>action</th><th>topic</th><th>group</th><th>messages</th>"
    return f"<h2>Operations</h2><table>{head}</tr>{''.join(rows)}</table>"


def _messages(document: Node) -> str:
    parts = ["<h2>Messages</h2>"]
    for name, message in document.get("components", {}).get("messages", {}).items():
        extra = message.get("x-cloudevents-type")
        parts += [
            f'<h3 id="message-{escape(name)}">{escape(name)}</h3>',
            f"<p>{escape(message.get('summary', ''))}</p>",
            f"<p>{escape(message.get('description', ''))}</p>" if "description" in message else "",
            f"<p>CloudEvents type <code>{escape(extra)}</code></p>" if extra else "",
            "<h4>Payload</h4>",
            _fields(_resolve(document, message.get("payload", {}))),
            "<h4>Headers</h4>",
            _fields(_resolve(document, message.get("headers", {}))),
        ]
    return "".join(parts)


def _schemas(document: Node) -> str:
    """The schemas the payloads refer to (nested models), each once."""
    components = document.get("components", {})
    messages = components.get("messages", {}).values()
    shown = {
        _ref_name(m.get(part, {}).get("$ref", ""))
        for m in messages
        for part in ("payload", "headers")
    }
    parts = ["<h2>Schemas</h2>"]
    for name, schema in components.get("schemas", {}).items():
        if name not in shown:
            parts += [
                f'<h3 id="schema-{escape(name)}">{escape(name)}</h3>',
                f"<p>{escape(str(schema.get('description', '')))}</p>",
                _fields(schema),
            ]
    return "".join(parts)


def render_page(document: Node) -> str:
    info = document.get("info", {})
    title = escape(info.get("title", "AsyncAPI"))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{title}</h1>"
        f"<p>AsyncAPI {escape(document.get('asyncapi', ''))}, version "
        f"{escape(info.get('version', ''))}. {escape(info.get('description', ''))}</p>"
        '<p>Machine-readable: <a href="/asyncapi.json">/asyncapi.json</a>; '
        'the HTTP API: <a href="/docs">/docs</a>.</p>'
        f"{_servers(document)}{_channels(document)}{_operations(document)}"
        f"{_messages(document)}{_schemas(document)}</body></html>"
    )
