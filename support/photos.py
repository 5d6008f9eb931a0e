"""Photos café staff attach to a report: decoded, checked and re-encoded with Pillow.

The only module that touches Pillow for uploads. A photo is taken only as
JPEG or PNG of at most PHOTO_MAX_BYTES; its pixel count is checked from the
header before anything is decoded, so a small file that unpacks into a huge
image (a decompression bomb) is refused without filling memory. What is kept
is a new encoding of the decoded pixels — turned the way the camera meant,
scaled down to PHOTO_MAX_EDGE, with no EXIF (location, device, time) or other
metadata — stored in the database, never under a public path, and shown
only to staff in the admin.
"""

import io
import warnings
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000  # a 48-megapixel phone camera scales its photos below this
PHOTO_MAX_EDGE = 2560
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}


class PhotoRefused(ValueError):
    """A file that is not taken; the message says why, in the visitor's language."""


@dataclass(frozen=True)
class CleanPhoto:
    content: bytes
    content_type: str
    width: int
    height: int


def photo_clean(upload) -> CleanPhoto:
    """Decode ``upload`` (a file-like with ``size``) and re-encode it without metadata."""
    if upload.size > PHOTO_MAX_BYTES:
        raise PhotoRefused(_("The photo is larger than 5 MB. Take a smaller one and try again."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload, formats=tuple(FORMATS))
            if image.width * image.height > PHOTO_MAX_PIXELS:
                raise PhotoRefused(
                    _("The photo has too many pixels (%(width)s × %(height)s). Send a smaller one.")
                    % {"width": image.width, "height": image.height}
                )
            image.load()
            return _reencoded(image)
    except PhotoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRefused(_("The photo has too many pixels. Send a smaller one.")) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise PhotoRefused(_("This file is not a JPEG or PNG photo.")) from None


def _reencoded(image: Image.Image) -> CleanPhoto:
    image_format = image.format
    image = ImageOps.exif_transpose(image)
    image.thumbnail((PHOTO_MAX_EDGE, PHOTO_MAX_EDGE))
    out = io.BytesIO()
    if image_format == "JPEG":
        image.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
    else:
        mode = "RGBA" if image.mode in {"RGBA", "LA", "P"} else "RGB"
        image.convert(mode).save(out, format="PNG", optimize=True)
    return CleanPhoto(
        content=out.getvalue(),
        content_type=FORMATS[image_format],
        width=image.width,
        height=image.height,
    )
