"""tools/benchmarks/report.py: every section it runs names a benchmark
script that exists and accepts the arguments the report passes (full and
quick), and the markdown-table extraction keeps only real tables."""
import os.path as osp

import pytest
from bench_utils import BENCH
from bench_utils import load_benchmark as _load


@pytest.mark.parametrize('quick', [False, True])
def test_every_report_section_parses_its_arguments(tmp_path, quick):
    report = _load('report')
    benches = report.benchmarks(3, quick, str(tmp_path))
    assert {'dacs', 'mean_teacher', 'ass', 'sie', 'cyclegan',
            'cyclegan_seg'} <= set(benches)
    for name, b in benches.items():
        script = b['script']
        assert osp.isfile(osp.join(BENCH, script)), script
        mod = _load(osp.splitext(script)[0])
        try:
            args = mod.parse_args(b['args'])
        except SystemExit as e:  # argparse rejected the report's arguments
            raise AssertionError(f'{name}: {script} {b["args"]}') from e
        if hasattr(args, 'seeds') and name != 'cyclegan':
            assert args.seeds == 3, name
        if getattr(args, 'work_dir', None) is not None:
            assert args.work_dir.startswith(str(tmp_path)), name


def test_markdown_tables_keeps_only_tables_with_a_separator():
    report = _load('report')
    text = '\n'.join([
        'log line', '| a | b |', '|---|---|', '| 1 | 2 |', '',
        '+-----+', '| class | IoU |', '| road | 3 |', 'end',
        '| x |', '|:---:|'])
    assert report.markdown_tables(text) == \
        '| a | b |\n|---|---|\n| 1 | 2 |\n\n| x |\n|:---:|'
