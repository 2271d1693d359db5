"""Self-annotation of rationales, LoRA SFT (transformers + peft), export for vLLM. Imports agent/, tools/."""
