"""Every dotted ``mmda.`` name that a docstring or comment cites resolves:
the module imports and the attribute exists (a reader can follow it)."""
import ast
import glob
import importlib
import io
import os.path as osp
import re
import tokenize

from tests.helpers import ROOT

# a quoted name is a registry type with its scope (type='mmda.DLV2Head'),
# not a Python path
NAME = re.compile(r'(?<![\'"])\bmmda(?:\.[A-Za-z_][A-Za-z0-9_]*)+')
# cited ahead of the code that defines it (owner: arch, moving the guards of
# tools/train.py into configs/_base_/default_runtime.py)
PENDING = {'mmda.engine.hooks.NonFiniteGuardHook'}


def _prose(path):
    """(line, text) of the docstrings and comments of a Python file."""
    src = open(path, encoding='utf-8').read()
    out = []
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                             ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                out.append((node.body[0].lineno, doc))
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.COMMENT:
            out.append((tok.start[0], tok.string))
    return out


def resolves(name: str) -> bool:
    parts = name.split('.')
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:i]))
        except ImportError:
            continue
        try:
            for p in parts[i:]:
                obj = getattr(obj, p)
        except AttributeError:
            return False
        return True
    return False


def _cited():
    found = {}
    files = []
    for top in ('mmda', 'tools', 'tests', 'configs'):
        files += glob.glob(osp.join(ROOT, top, '**', '*.py'), recursive=True)
    for path in sorted(files):
        for line, text in _prose(path):
            for m in NAME.finditer(text):
                found.setdefault(m.group(0).rstrip('.'), []).append(
                    f'{osp.relpath(path, ROOT)}:{line}')
    return found


def test_resolver_rejects_wrong_names():
    assert resolves('mmda.models.segmentors.dacs.DACS')
    assert resolves('mmda.engine.hooks.EMATeacherHook')
    assert not resolves('mmda.models.segmentors.NoSuchSegmentor')
    assert not resolves('mmda.engine.hooks.ema_teacher_hook.NoSuchHook')
    assert not resolves('mmda.no_such_package.DACS')


def test_docstring_names_import():
    cited = _cited()
    assert len(cited) > 20  # the scan sees the docstrings
    bad = {n: where for n, where in cited.items()
           if n not in PENDING and not resolves(n)}
    assert not bad, 'names that do not import:\n' + '\n'.join(
        f'  {n}  ({", ".join(w)})' for n, w in sorted(bad.items()))
