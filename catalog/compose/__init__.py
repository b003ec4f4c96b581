"""docker-compose (v1/v2) plus rancher-compose.yml into the stack spec.

Used by the catalog's own modules (`loader`, `questions`, `render`), which
import what they need from its modules directly: `stack.build_services`,
`catalog_block.parse_catalog_block`, `values.raw_text`. Layers above use
`corral.catalog` instead. Nothing is imported here, because the catalog's
modules and this package's import each other's modules.
"""
