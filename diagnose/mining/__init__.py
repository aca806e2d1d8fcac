"""Pieces of the residue template miner (patterns.py): its own token masking and header stripping."""
