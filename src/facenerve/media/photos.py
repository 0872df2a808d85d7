"""Still photographs: read upright, as RGB, with one clear error for anything else.

Shape contract
    ``load_photo(path)`` -> uint8 RGB [H, W, 3], turned upright by its EXIF orientation
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError
from .video import MIN_SIDE_PX

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic")
# larger photos are refused (decompression bombs among them); up to this many are read without
# Pillow's warning (from 89 megapixels: a 108-megapixel phone photo)
MAX_PIXELS = 120_000_000


def load_photo(path: str | os.PathLike[str]) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} is not a file; give the path of a photograph")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise Image.DecompressionBombError
                im = ImageOps.exif_transpose(im)
                rgb = np.asarray(im.convert("RGB"))
    except Image.DecompressionBombError:
        raise InputError(f"{path} has more than {MAX_PIXELS / 1e6:g} megapixels; save a smaller "
                         "copy of it (the face needs far fewer)") from None
    except UnidentifiedImageError as err:
        raise InputError(f"{path} is not a readable photograph ({type(err).__name__}); "
                         "save it as JPEG or PNG") from None
    except (OSError, ValueError, SyntaxError) as err:
        raise InputError(f"{path} cannot be read as a photograph ({err}); it may be damaged, "
                         "save or copy it again") from None
    if min(rgb.shape[:2]) < MIN_SIDE_PX:
        raise InputError(f"{path} is only {rgb.shape[1]}x{rgb.shape[0]} pixels; the face must be "
                         "much larger to measure")
    return np.ascontiguousarray(rgb)
