"""The Go `text/template` subset Rancher 1.6 catalogs use: lex, parse, run.

Used by the catalog's own modules through `execute.render_template` and
`gofmt.sprint_value`; layers above use `corral.catalog` instead.
"""
