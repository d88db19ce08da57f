"""Dump every merged config under configs/ (``_base_`` fragments skipped) as
canonical JSON, one file per config, so a restructuring of the config layer
can be checked to change no merged config.

Usage::

    python tools/misc/dump_configs.py work_dirs/cfg_before
    # ... edit configs/ ...
    python tools/misc/dump_configs.py work_dirs/cfg_after
    python tools/misc/dump_configs.py --compare work_dirs/cfg_before \
        work_dirs/cfg_after --ignore-keys uda mic

``--ignore-keys`` leaves out top-level keys that a restructuring adds on
purpose (the method fragments' helper keys, see configs/README.md) before
comparing; each differing config is listed with the paths that differ.

The dump is ``Config.fromfile(path).to_dict()`` with sorted keys; tuples are
written as ``{"__tuple__": [...]}`` so a list/tuple swap shows as a
difference, and list order is kept. No key is dropped: the merged dict holds
no path of the config file itself. Custom imports are not executed
(``import_custom_modules=False``): they do not change the dict.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def config_paths(root=ROOT):
    """Every config file under configs/ except the ``_base_`` fragments."""
    pattern = osp.join(root, 'configs', '**', '*.py')
    return sorted(p for p in glob.glob(pattern, recursive=True)
                  if f'{os.sep}_base_{os.sep}' not in p)


def _canonical(obj):
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return {'__tuple__': [_canonical(v) for v in obj]}
    if isinstance(obj, list):
        return [_canonical(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return {'__repr__': f'{type(obj).__name__}:{obj!r}'}


def dump_config(path):
    """Canonical JSON text of the merged config at ``path``."""
    from mmengine.config import Config
    cfg = Config.fromfile(path, import_custom_modules=False)
    return json.dumps(_canonical(cfg.to_dict()), sort_keys=True, indent=1)


def dump_all(out_dir, root=ROOT):
    os.makedirs(out_dir, exist_ok=True)
    paths = config_paths(root)
    for path in paths:
        rel = osp.relpath(path, osp.join(root, 'configs'))
        name = rel[:-len('.py')].replace(os.sep, '__') + '.json'
        with open(osp.join(out_dir, name), 'w') as f:
            f.write(dump_config(path) + '\n')
    return len(paths)


def diff_paths(x, y, prefix=''):
    """Dotted paths (list items as ``[i]``) where two canonical dumps
    differ; a key present on one side only is one path."""
    if isinstance(x, dict) and isinstance(y, dict):
        out = []
        for k in sorted(set(x) | set(y)):
            path = f'{prefix}.{k}' if prefix else k
            if k not in x or k not in y:
                out.append(path)
            else:
                out += diff_paths(x[k], y[k], path)
        return out
    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        out = []
        for i, (u, v) in enumerate(zip(x, y)):
            out += diff_paths(u, v, f'{prefix}[{i}]')
        return out
    return [] if x == y else [prefix]


def compare(before, after, ignore_keys=()):
    """Compare two dump folders.

    Returns ``(compared, differ, removed, added)``: the number of configs
    present in both, ``{name: [differing paths]}`` for the dumps that
    differ, the names only in ``before`` (a config that no longer exists)
    and only in ``after`` (a new file, e.g. a partial ``*_base.py`` piece:
    nothing to compare). Top-level keys in ``ignore_keys`` are left out of
    both sides."""
    a = set(os.listdir(before))
    b = set(os.listdir(after))
    differ = {}
    for name in sorted(a & b):
        with open(osp.join(before, name)) as f1, \
                open(osp.join(after, name)) as f2:
            x, y = json.load(f1), json.load(f2)
        for key in ignore_keys:
            x.pop(key, None)
            y.pop(key, None)
        paths = diff_paths(x, y)
        if paths:
            differ[name] = paths
    return len(a & b), differ, sorted(a - b), sorted(b - a)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out_dir', nargs='?', help='folder for the dumps')
    parser.add_argument('--compare', nargs=2, metavar=('BEFORE', 'AFTER'),
                        help='compare two dump folders instead')
    parser.add_argument('--ignore-keys', nargs='+', default=[],
                        metavar='KEY',
                        help='with --compare: top-level keys left out of '
                        'the comparison (helper keys added on purpose)')
    args = parser.parse_args(argv)
    if args.compare:
        compared, differ, removed, added = compare(
            *args.compare, ignore_keys=args.ignore_keys)
        print(f'{compared} configs compared, {len(differ)} differences, '
              f'{len(removed)} removed, {len(added)} new')
        for name, paths in differ.items():
            print(f'  differs: {name}: {", ".join(paths)}')
        for label, names in (('removed', removed), ('new', added)):
            for name in names:
                print(f'  {label}: {name}')
        return 1 if differ or removed else 0
    if not args.out_dir:
        parser.error('out_dir or --compare is required')
    n = dump_all(args.out_dir)
    print(f'dumped {n} configs to {args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
