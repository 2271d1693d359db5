"""Self-annotation of rationales, SFT with LoRA (transformers + peft), export for vLLM. Imports agent/ and tools/."""
