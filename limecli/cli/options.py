"""Click options generated from the settings dataclasses (limecli.config), help in sections.

``@option_group(Sampling, section="Sampling", num_features={"default": 5})`` adds one
click option per field (flags, help and constraints from the field's ``opt``
metadata, per-command overrides as keyword arguments) and hands the command one
``sampling: Sampling`` argument instead of six loose values.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from limecli.cli.types import ClassNames, IntOrAuto, check_output_path, remember_force

F = TypeVar("F", bound=Callable[..., Any])


class SectionedOption(click.Option):
    """An option that knows the help section it is listed under."""

    def __init__(self, *args: Any, section: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.section = section


class SectionedCommand(click.Command):
    """A command whose --help lists options by section (Input, Model, Sampling, ...)."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            # Arguments are in the usage line; click 8.5 also gives them (empty) help records.
            if isinstance(param, click.Argument):
                continue
            record = param.get_help_record(ctx)
            if record is not None:
                name = getattr(param, "section", None) or "Other options"
                sections.setdefault(name, []).append(record)
        for name, rows in sections.items():
            with formatter.section(name):
                formatter.write_dl(rows)


def flag_names(command: click.Command) -> dict[str, str]:
    """Parameter name -> the flag a user types for it (its first spelling: ``-o``, ``--jobs``)."""
    flags: dict[str, str] = {}
    for param in command.params:
        if isinstance(param, click.Option) and param.name:
            flags[param.name] = param.opts[0]
    return flags


def spell_flags(message: str, parameters: Sequence[str], flags: dict[str, str]) -> str:
    """A library message with the parameters it names spelled as the flags a user typed.

    The library writes ``The 'jobs' parameter must ...`` or ``... needs 'scheduler'``
    and lists the names it used; only those are replaced, so a quoted column
    name in the same message is left alone.
    """
    for name in parameters:
        flag = flags.get(name)
        if flag is not None:
            message = message.replace(f"The '{name}' parameter", flag).replace(f"'{name}'", flag)
    return message


def current_flags() -> dict[str, str]:
    """The running command's parameter -> flag table (empty outside a command)."""
    ctx = click.get_current_context(silent=True)
    return {} if ctx is None else dict(ctx.meta.get("limecli.flags", {}))


def _click_settings(name: str, spec: dict[str, Any], default: Any) -> dict[str, Any]:
    """click.Option keyword arguments for one field's spec."""
    kind = spec.get("kind", "str")
    out: dict[str, Any] = {"default": default, "help": spec["help"]}
    for key in ("metavar", "show_default", "envvar", "multiple"):
        if key in spec:
            out[key] = spec[key]
    if spec.get("envvar"):
        out["show_envvar"] = True
    if spec.get("eager"):
        out["is_eager"] = True
    if "choices" in spec:
        out["type"] = click.Choice(list(spec["choices"]))
    elif kind == "int":
        has_range = "min" in spec or "max" in spec
        out["type"] = click.IntRange(spec.get("min"), spec.get("max")) if has_range else int
    elif kind == "float":
        out["type"] = click.FloatRange(
            spec.get("min"), spec.get("max"), min_open=spec.get("min_open", False)
        )
    elif kind in ("flag", "toggle"):
        out["is_flag"] = True
    elif kind == "force":
        out.update(is_flag=True, is_eager=True, callback=remember_force)
    elif kind == "file":
        out["type"] = click.Path(dir_okay=False, path_type=Path)
    elif kind == "output":
        out.update(type=click.Path(dir_okay=False, path_type=Path), callback=check_output_path)
    elif kind == "dir":
        out["type"] = click.Path(file_okay=False, path_type=Path)
    elif kind == "existing_file":
        out["type"] = click.Path(exists=True, dir_okay=False, path_type=Path)
    elif kind == "num_samples":
        out["type"] = IntOrAuto(2)
    elif kind == "num_features":
        out["type"] = IntOrAuto(1)
    elif kind == "class_names":
        out["type"] = ClassNames()
    return out


def option_group(
    cls: type,
    *,
    section: str,
    arguments: Sequence[str] = (),
    exclude: Sequence[str] = (),
    overrides: dict[str, dict[str, Any]] | None = None,
    **field_overrides: dict[str, Any],
) -> Callable[[F], F]:
    """One click option per field of the dataclass ``cls``, collected into one argument.

    The command receives ``cls(...)`` under the snake_case name of the class
    (``Sampling`` -> ``sampling``). ``arguments``: click arguments (declared
    separately) that are fields of ``cls`` too, e.g. ``model`` of ``ModelSpec``.
    ``overrides`` (or keyword arguments by field name): per field, the spec keys
    to replace (``default``, ``help``, ...).
    """
    fields = [f for f in dataclasses.fields(cls) if "cli" in f.metadata and f.name not in exclude]
    target = _snake(cls.__name__)
    overrides = {**(overrides or {}), **field_overrides}

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {field.name: kwargs.pop(field.name) for field in fields}
            values.update({name: kwargs.pop(name) for name in arguments})
            kwargs[target] = cls(**values)
            return f(*args, **kwargs)

        for field in reversed(fields):
            spec = {**field.metadata["cli"], **overrides.get(field.name, {})}
            default = spec.pop("default", field.default)
            flags = list(spec["flags"])
            if spec.get("kind") == "toggle":
                flags = [f"{flags[0]}/{spec['secondary']}"]
            settings = _click_settings(field.name, spec, default)
            click.option(*flags, field.name, cls=SectionedOption, section=section, **settings)(
                wrapper
            )
        return wrapper  # type: ignore[return-value]

    return decorate


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))
