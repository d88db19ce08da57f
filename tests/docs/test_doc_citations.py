"""Code and configs cite the repository's own docs, never files outside it:
every ``docs/methods.md#anchor`` exists, and METHODS.md (not in the
repository) is no longer cited."""
import glob
import os.path as osp
import re

from tests.helpers import ROOT

CITE = re.compile(r'docs/methods\.md(?:\s*\(?\s*#|#)\s*#?([a-z0-9-]+)')


def _anchors():
    out = set()
    for line in open(osp.join(ROOT, 'docs', 'methods.md'), encoding='utf-8'):
        if line.startswith('#'):
            title = line.lstrip('#').strip().lower()
            out.add(re.sub(r'[^a-z0-9 -]', '', title).replace(' ', '-'))
    return out


def _sources():
    for top in ('mmda', 'configs', 'tools', 'tests'):
        for path in glob.glob(osp.join(ROOT, top, '**', '*.py'),
                              recursive=True):
            rel = osp.relpath(path, ROOT)
            if rel != 'tests/docs/test_doc_citations.py':
                yield rel, open(path, encoding='utf-8').read()


def test_anchor_pattern():
    text = ('a docs/methods.md#dacs b (docs/methods.md\n# #ass) '
            'docs/methods.md\n(#classes)')
    assert [m.group(1) for m in CITE.finditer(text)] == \
        ['dacs', 'ass', 'classes']


def test_methods_anchors_exist():
    anchors = _anchors()
    assert {'dacs', 'ass', 'dataset-formats', 'student-and-teacher'} <= anchors
    missing = []
    cited = 0
    for rel, text in _sources():
        for m in CITE.finditer(text):
            cited += 1
            if m.group(1) not in anchors:
                missing.append(f'{rel}: #{m.group(1)}')
    assert cited > 30
    assert not missing, missing


def test_no_methods_md_citation():
    left = [rel for rel, text in _sources() if 'METHODS.md' in text]
    assert not left, f'METHODS.md is not in the repository: {left}'
