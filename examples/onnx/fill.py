"""Fills the holes of a photo with a model written by `pconv export --onnx`, in ONNX Runtime.

    pip install onnxruntime opencv-python-headless numpy
    python3 fill.py MODEL.onnx PHOTO MASK OUT        (MASK: non-zero = hole, as pconv's own)

The model's input conventions (size multiple, mean, std) are read from the file's metadata.
`--runtime opencv` runs the same file in OpenCV's dnn module instead, taking them from
`--multiple`, `--mean` and `--std` (OpenCV does not read ONNX metadata).
"""
import argparse
import json

import cv2
import numpy as np


def onnxruntime_model(path):
    import onnxruntime as ort

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    conventions = (int(meta["size_multiple"]), json.loads(meta["normalization_mean"]),
                   json.loads(meta["normalization_std"]))
    return (lambda image, mask: session.run(["prediction"], {"image": image, "mask": mask})[0]), conventions


def opencv_model(path, multiple, mean, std):
    net = cv2.dnn.readNetFromONNX(path)

    def run(image, mask):
        net.setInput(image, "image")
        net.setInput(mask, "mask")
        return net.forward("prediction")

    return run, (multiple, mean, std)


def fill(run, conventions, photo_bgr, hole):
    multiple, mean, std = conventions
    mean, std = np.float32(mean), np.float32(std)
    h, w = hole.shape
    rows, cols = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    # RGB in [0,1], normalised, padded right and bottom to the multiple; the padding is hole.
    rgb = cv2.cvtColor(photo_bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    image = np.zeros((1, 3, rows, cols), np.float32)
    image[0, :, :h, :w] = ((rgb - mean) / std).transpose(2, 0, 1)
    mask = np.zeros((1, 1, rows, cols), np.float32)
    mask[0, 0, :h, :w] = hole == 0
    prediction = run(image, mask)[0, :, :h, :w].transpose(1, 2, 0) * std + mean
    filled = cv2.cvtColor(np.clip(prediction * 255 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
    out = photo_bgr.copy()
    out[hole != 0] = filled[hole != 0]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("model", "photo", "mask", "out"):
        parser.add_argument(name)
    parser.add_argument("--runtime", choices=["onnxruntime", "opencv"], default="onnxruntime")
    parser.add_argument("--multiple", type=int, help="opencv: the size multiple that pconv export prints")
    parser.add_argument("--mean", default="0.485,0.456,0.406", help="opencv: the model's mean (ImageNet's)")
    parser.add_argument("--std", default="0.229,0.224,0.225", help="opencv: the model's std (ImageNet's)")
    args = parser.parse_args()
    if args.runtime == "onnxruntime":
        run, conventions = onnxruntime_model(args.model)
    else:
        if not args.multiple:
            parser.error("--runtime opencv needs --multiple")
        triple = lambda text: [float(v) for v in text.split(",")]
        run, conventions = opencv_model(args.model, args.multiple, triple(args.mean), triple(args.std))
    photo = cv2.imread(args.photo, cv2.IMREAD_COLOR)
    hole = cv2.imread(args.mask, cv2.IMREAD_GRAYSCALE)
    if photo is None or hole is None or photo.shape[:2] != hole.shape:
        raise SystemExit(f"fill.py: cannot read {args.photo} and a mask of its size from {args.mask}")
    if not cv2.imwrite(args.out, fill(run, conventions, photo, hole)):
        raise SystemExit(f"fill.py: cannot write {args.out}")


if __name__ == "__main__":
    main()
