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
# Pillow warns from MAX_PIXELS and refuses from twice as many (decompression bombs): up to 120
# megapixels are read without a word (a 108-megapixel phone photo), larger ones refused plainly
MAX_PIXELS = 60_000_000


def load_photo(path: str | os.PathLike[str]) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} is not a file; give the path of a photograph")
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im = ImageOps.exif_transpose(im)
                rgb = np.asarray(im.convert("RGB"))
    except Image.DecompressionBombError:
        raise InputError(f"{path} has more than {2 * MAX_PIXELS / 1e6:g} megapixels; save a smaller "
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
