"""The learning-rate schedulers behind vt.torch.optim.lr_scheduler, one family per file."""
