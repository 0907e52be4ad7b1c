"""``eval synthesis`` end to end: the generator, the reference design for the same time, the
figures, and recording them in the generator's folder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cxrviewer import paths
from cxrviewer.synthesis import store
from cxrviewer.synthesis.evaluate import HELD_OUT, STRONG, evaluate

Report = Callable[[str], None]


def train_reference(library: Path, generator: Any, minutes: float, seed: int, device: str | None,
                    workers: int, report: Report) -> Any:
    """The reference design trained on the same library's train split with the same conditioning
    for ``minutes`` of training time; returns it loaded."""
    from cxrviewer.synthesis.config import SynthesisConfig
    from cxrviewer.synthesis.sample import Generator
    from cxrviewer.synthesis.train import train_synthesis

    work = paths.data_dir() / "training" / f"{generator.name}-reference-eval"
    name = f"{generator.name}-reference"
    cfg = SynthesisConfig(library=library, name=name, out=work / name, run_dir=work / "run", arch="reference",
                          condition=generator.conditioning.kind,
                          width=int(generator.config.get("width", 16)), steps=0, minutes=minutes, seed=seed,
                          device=device, overwrite=True, workers=workers,
                          threads=int(generator.config.get("training", {}).get("threads") or 0))
    last = [0]

    def progress(p: Any) -> None:
        if p.stage == "training" and p.step - last[0] >= 100:
            last[0] = p.step
            report(f"reference design: step {p.step}, {p.message}")

    report(f"training the reference design for {minutes:.1f} min (the generator's training time)")
    result = train_synthesis(cfg, progress=progress, encoder=generator.conditioner.encoder)
    return Generator(result.model_dir, device, generator.conditioner.encoder)


def same_sampling(reference: Any, generator: Any) -> Any:
    """Draw the reference's films with the generator's noise scale (truncation), so the two
    designs are compared as they would be used."""
    reference.config["truncation"] = generator.truncation
    return reference


def evaluate_generator(library: Path, model: str | None = None, *, splits: Sequence[str] | None = None,
                       reader: str | None = None, reference: str | None = None,
                       reference_minutes: float | None = None, with_reference: bool = True,
                       inception_weights: Path | None = None, seed: int = 0, device: str | None = None,
                       workers: int = 2, record: bool = True, report: Report | None = None) -> dict[str, Any]:
    from cxrviewer.models.encoders import resolve_device
    from cxrviewer.synthesis.sample import Generator, load_generator

    say = report or (lambda message: None)
    generator = load_generator(model, device)
    ref, note = None, ""
    if with_reference and reference:
        ref = Generator(store.resolve(reference), device, generator.conditioner.encoder)
        note = "given (--reference)"
    elif with_reference:
        seconds = float(generator.config.get("training", {}).get("seconds") or 0)
        minutes = reference_minutes if reference_minutes is not None else seconds / 60
        if minutes <= 0:
            raise ValueError("the generator's config has no training time; give --reference-minutes")
        ref = train_reference(library, generator, minutes, seed, device, workers, say)
        note = f"trained in this run for {minutes:.1f} min on the library's train split"
    if ref is not None:
        ref = same_sampling(ref, generator)
    inception = None
    if inception_weights is not None:
        from cxrviewer.synthesis.inception import load_inception

        inception = load_inception(inception_weights, resolve_device(device))
    result = evaluate(library, generator, reference=ref, reference_note=note, splits=splits or HELD_OUT,
                      reader=reader, inception=inception, seed=seed, workers=workers, report=say)
    if record:
        try:
            store.record_evaluation(generator.folder, result)
            result["recorded"] = str(generator.folder / store.EVALUATION)
        except OSError as exc:
            result["recorded"] = f"not recorded ({exc.strerror or exc})"
    return result


def summary(result: dict[str, Any]) -> str:
    """The figures as a few lines of text."""
    lines = [(f"generator {result['generator']['name']} ({result['generator']['arch']}; "
             f"{_trained(result['generator'])}; noise scale {result['generator'].get('truncation', 1.0)}) on "
             f"{result['library']}: "
             f"{result['held_out']['films']} held-out films ({'+'.join(result['held_out']['splits'])})")]
    fd = result["frechet_encoder"]
    ref = f", reference design {fd['reference']:.4f}" if "reference" in fd else ""
    lines.append(f"Fréchet distance ({result['encoder']} space): generator {fd['generator']:.4f}, "
                 f"floor {fd['floor']:.4f}{ref}")
    if "reference" in result:
        lines.append(f"  reference: {result['reference']['note']}; {_trained(result['reference'])}")
    if "reference" in fd:
        gap, ref_gap = fd["generator"] - fd["floor"], fd["reference"] - fd["floor"]
        closer = "the generator" if abs(gap) < abs(ref_gap) else "the reference design"
        lines.append(f"  above the floor: generator {gap:+.4f}, reference design {ref_gap:+.4f} ({closer} is closer)")
    fid = result.get("fid_inception", {})
    if "skipped" in fid:
        lines.append(f"FID (Inception-v3): skipped: {fid['skipped']}")
    else:
        ref = f", reference {fid['reference']:.2f}" if "reference" in fid else ""
        lines.append(f"FID (Inception-v3, {fid['network']}): generator {fid['generator']:.2f}, floor "
                     f"{fid['floor']:.2f}{ref}")
    cond = result["conditioning"]
    lines.append(f"conditioning ({cond['reader']} reading the generated films; AUROC requested vs not):")
    refs = cond.get("reference", {}).get("findings", {})
    for label, f in cond["findings"].items():
        r = refs.get(label, {}).get("auroc")
        lines.append(f"  {label:<18} {_num(f['auroc'])}  (real films {_num(f['real_films_auroc'])}; reader validated "
                     f"{_num(f['reader_validation_auroc'])}; reference design {_num(r)}; "
                     f"{f['requested']} requested / {f['not_requested']} not)")
    missed = sorted(set(cond["strong_findings"]) - set(cond["strong_met"]))
    short = [f"{label} {_num(cond['findings'][label]['auroc'])}, "
             f"{STRONG - (cond['findings'][label]['auroc'] or 0):.3f} short" for label in missed]
    lines.append(f"  bar ({cond['bar']}): met for {len(cond['strong_met'])} of {len(cond['strong_findings'])}"
                 + (f"; not met: {'; '.join(short)}" if short else ""))
    for label in missed:  # what the reader took for the missed finding: the generator's doing or its own
        figure = cond["findings"][label]
        lines += [f"  {label} on {kind} films: {_alarms(figure[key])}"
                  for key, kind in (("false_alarms", "generated"), ("real_films_false_alarms", "real"))
                  if figure.get(key)]
        if degraded := figure.get("real_films_degraded_auroc"):
            kept = ", ".join(f"{kind.replace('_', ' ')} {_num(v)}" for kind, v in degraded.items())
            lines.append(f"  {label} on real films made slightly imperfect: {kept} (real films as they are "
                         f"{_num(figure['real_films_auroc'])})")
    if result.get("side_agreement"):
        lines.append("side agreement (finding stated on one side):")
        for label, s in result["side_agreement"].items():
            lines.append(f"  {label:<18} {_num(s['agreement'])}  (real films {_num(s['real_films_agreement'])}; "
                         f"n {s['n']})")
    mem = result["memorisation"]
    for space in ("encoder", "pixels"):
        m = mem[space]
        lines.append(f"memorisation ({space}): nearest training film median {_num(m['generated_to_train_median'])} "
                     f"vs training films' own {_num(m['train_to_train_median'])}; {m['flagged']} of "
                     f"{mem['generated_films']} flagged as copies (below {_num(m['copy_threshold'])})")
    if result.get("recorded"):
        lines.append(f"recorded: {result['recorded']}")
    return "\n".join(lines)


def _alarms(found: dict[str, Any]) -> str:
    """'read where not requested on 87 films, which asked for Pneumothorax (46%; 10% of all)'"""
    rows = "; ".join(f"{r['finding']} ({r['share']:.0%}; {r['overall']:.0%} of all)"
                     for r in found["requested_instead"])
    return f"read where not requested on {found['films']} films" + (f", which asked for {rows}" if rows else "")


def _num(value: Any) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def _trained(part: dict[str, Any]) -> str:
    t = part.get("training", {})
    seconds = t.get("seconds") or 0
    return f"{t.get('steps')} steps in {seconds / 60:.1f} min on {t.get('device')}"
