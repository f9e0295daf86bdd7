"""One-line errors for the command-line entry points (train, sweeps, predict, report).

A user's mistake (an unknown option, a bad value, a preset that does not exist) prints one line
``error: ...`` naming the option and its valid choices and exits with status 2: no traceback.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from omegaconf import DictConfig

from scratchbench.config import ConfigError, validate
from scratchbench.config.compose import CONFIG_NAME, conf_dir

_CHECKED: set[tuple[str, ...]] = set()  # job overrides check_hydra_command_line composed and validated


class ArgumentParser(argparse.ArgumentParser):
    """``argparse`` with the usual checks, but a wrong argument is one line naming the valid options."""

    def error(self, message: str):  # type: ignore[override]
        options = sorted({o for action in self._actions for o in action.option_strings if o.startswith("--")})
        self.exit(2, f"error: {message}; valid options: {', '.join(options)}\n")


def code_conf_dir() -> Path:
    """``conf/`` of the checkout holding this code, else of the project root."""
    here = Path(__file__).resolve().parents[3] / "conf"
    return here if here.is_dir() else conf_dir()


def group_choices(group: str) -> list[str]:
    """The option names of a ``conf/<group>/`` (``experiment``, ``model``, ``dataset``, ...)."""
    return sorted(p.stem for p in (code_conf_dir() / group).glob("*.yaml"))


def check_choices(option: str, values: Iterable[str], group: str) -> None:
    """Raise :class:`ConfigError` when a value of ``option`` is not a ``conf/<group>/`` name."""
    valid = group_choices(group)
    for value in values:
        if value not in valid:
            raise ConfigError(f"{option} {value!r}: no such {group} (conf/{group}/); valid: {', '.join(valid)}")


def _one_line(message: str) -> str:
    """Hydra's multi-line messages (e.g. a missing group option and its list) as one line."""
    parts: list[str] = []
    listing = False
    for line in (line.strip() for line in str(message).splitlines()):
        if not line:
            continue
        if line.startswith("Config search path"):
            break
        if line.lower().startswith("available options in"):
            parts.append("valid options" + line[len("available options"):].rstrip(":") + ":")
            listing = True
        elif listing:
            parts[-1] += (" " if parts[-1].endswith(":") else ", ") + line
        else:
            parts.append(line)
    return "; ".join(parts)


def _job_overrides(argv: Sequence[str]) -> list[list[str]] | None:
    """Each job's overrides of a Hydra command line (one job unless ``--multirun``), or None when the
    command line only asks Hydra for help/info."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra._internal.utils import get_args_parser
    from hydra.core.override_parser.overrides_parser import OverridesParser

    args, _ = get_args_parser().parse_known_args(list(argv))
    if args.help or args.hydra_help or args.info or args.cfg or args.shell_completion or args.config_dir \
            or args.config_path or args.config_name:
        return None
    if not args.multirun:
        return [list(args.overrides)]
    parsed = OverridesParser.create().parse_overrides(list(args.overrides))
    return [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]


def check_hydra_command_line(argv: Sequence[str], conf: str | Path | None = None) -> None:
    """Compose and validate every job of a ``train`` command line before Hydra starts one.

    ``conf`` is the entry point's config folder (default: the project's ``conf/``). Raises
    :class:`ConfigError` with one line: a bad override, a group option that does not
    exist (``experiment=r99``) or a value the schema rejects, in any job of a sweep.
    """
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        jobs = _job_overrides(argv)
        if jobs is None:
            return
        with initialize_config_dir(str(Path(conf or code_conf_dir()).resolve()), version_base=None):
            for overrides, cfg in job_configs(jobs):
                validate(cfg)
                _CHECKED.add(_task_overrides(overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(_one_line(str(exc))) from None


def job_configs(jobs: Sequence[Sequence[str]]) -> Iterator[tuple[list[str], DictConfig]]:
    """Each job's composed config (inside ``initialize_config_dir``), as ``compose`` gives it, composed faster.

    Hydra composes a job in two steps: the defaults list with the overrides that choose config group
    options (``experiment=``, ``hydra/launcher=``), then the other overrides applied to the result.
    The first step is the slow one (0.1 s), and the jobs of a sweep over values (``seed=range(20)``)
    share it: it runs once per distinct choice of groups (``hydra.*`` overrides included), and each
    job is a copy with its value overrides applied by Hydra's own code.
    """
    import copy

    from hydra import compose
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    repo = GlobalHydra.instance().config_loader().repository
    parser = OverridesParser.create()
    composed: dict[tuple[str, ...], DictConfig] = {}
    for job in jobs:
        parsed = parser.parse_overrides(list(job))
        value = [_is_value_override(o, repo) for o in parsed]
        groups = tuple(o.input_line for o, v in zip(parsed, value, strict=True) if not v)
        if groups not in composed:
            composed[groups] = compose(config_name=CONFIG_NAME, overrides=list(groups))
        cfg = copy.deepcopy(composed[groups])
        ConfigLoaderImpl._apply_overrides_to_config([o for o, v in zip(parsed, value, strict=True) if v], cfg)
        yield list(job), cfg


def _is_value_override(override: Any, repo: Any) -> bool:
    """Not a config group choice (Hydra's own test, hydra/defaults_list.py) and not Hydra's own config."""
    if override.key_or_group.split(".")[0].split("/")[0] == "hydra":
        return False
    return isinstance(override.value(), dict) or not repo.group_exists(override.key_or_group)


def checked_jobs() -> frozenset[tuple[str, ...]]:
    """The jobs :func:`check_hydra_command_line` composed and validated in this process, as a sweeper sees them:
    their overrides without Hydra's own (``hydra/launcher=``, ``hydra.launcher.n_jobs=``: the same for every job)."""
    return frozenset(_CHECKED)


def _task_overrides(job: Sequence[str]) -> tuple[str, ...]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return tuple(o.input_line for o in OverridesParser.create().parse_overrides(list(job)) if not o.is_hydra_override())
