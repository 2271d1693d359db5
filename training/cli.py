"""`llmrec train`: annotate rationales, fine-tune a LoRA adapter, export it.

    llmrec train annotate --domain scientific --teacher default --out runs/annotations/scientific.jsonl
    llmrec train generate --prompts runs/teacher/scientific.prompts.jsonl --out runs/teacher/scientific.samples.jsonl
    llmrec train sft --config training/configs/cpu-default.yaml
    llmrec train export --adapter runs/cpu-default/adapter --out adapters/llmrec
    llmrec train seqrec --domain scientific
    llmrec train calibrate --domain scientific

Each command lives in the module that does its work; this file only mounts them (ui/cli.py mounts `app` through
the `llmrec.commands` entry point, so the CLI root never imports training/).
"""

from __future__ import annotations

import typer

from training.annotate import annotate_command
from training.calibrate import calibrate_command
from training.export import export_command
from training.generate import generate_command
from training.intent_cli import intent_command
from training.seqrec_cli import seqrec_command
from training.sft import sft_command

app = typer.Typer(
    help="Rationale annotation, LoRA tuning, export for vLLM; the sequential model; the calibrated commit.",
    no_args_is_help=True,
)
app.command("annotate")(annotate_command)
app.command("generate")(generate_command)
app.command("sft")(sft_command)
app.command("export")(export_command)
app.command("seqrec")(seqrec_command)
app.command("calibrate")(calibrate_command)
app.command("intent")(intent_command)
