"""Deep learning: networks (registry), normalisation, training, parameter-efficient fine-tuning
(finetune.py is the only importer of peft), checkpoints (safetensors + JSON), prediction."""
