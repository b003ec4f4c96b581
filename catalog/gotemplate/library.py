"""Every function a catalog template may call: Go's builtins, sprig's, Rancher's.

Rancher 1.6 ran `.tpl` files with `sprig.TxtFuncMap()` plus its own
`splitPreserveQuotes` (rancher-compose-executor `template/funcs`). The
functions are split by topic (`funcs`, `funcs_text`, `funcs_data`); those
Corral leaves out on purpose are named, with the reason, in `NOT_OFFERED`.
"""

from __future__ import annotations

from corral.catalog.gotemplate import funcs, funcs_data, funcs_text
from corral.catalog.gotemplate.funcs import Func

FUNCTIONS: dict[str, Func] = {
    **funcs.FUNCTIONS,
    **funcs_text.FUNCTIONS,
    **funcs_data.FUNCTIONS,
    "biggest": funcs.FUNCTIONS["max"],
}

NOT_OFFERED: dict[str, str] = funcs_data.NOT_OFFERED
