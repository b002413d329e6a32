"""Detection sources (public det.txt, saved files, YOLOX) turning frames into boxes."""
