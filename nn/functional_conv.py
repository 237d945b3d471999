"""Functional convolution and pooling (filled in by the conv work)."""
__all__ = []
