"""The Go `text/template` subset Rancher 1.6 catalogs use: lex, parse, run."""
