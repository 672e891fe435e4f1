//! What an uploaded file is, decided by its content (never by its name or the
//! client's `Content-Type`), and what is kept of it: photos decoded within
//! bounds (a decompression bomb is refused before any large allocation), turned
//! upright (EXIF orientation), re-encoded without their metadata (GPS position,
//! camera serial) unless the organization keeps photos as taken, and reduced to
//! a display size and a thumbnail (always without metadata). Decoding runs on
//! the blocking pool, at most [`DECODERS`] at a time.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// The formats taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Jpeg,
    Png,
    Webp,
    Pdf,
}

impl FileType {
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Pdf => "application/pdf",
        }
    }

    pub const fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Pdf => "pdf",
        }
    }

    pub const fn is_image(self) -> bool {
        !matches!(self, Self::Pdf)
    }

    /// The type a stored content type names (for the files served back).
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        [Self::Jpeg, Self::Png, Self::Webp, Self::Pdf].into_iter().find(|t| t.content_type() == content_type)
    }
}

/// Why a file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not one of the formats taken (a ZIP, an executable, a text renamed `.jpg`).
    #[error("not an accepted format")]
    Unsupported,
    /// HEIC/HEIF (iPhone photos): no decoder here; phones send JPEG when asked for a photo.
    #[error("HEIC photos are not accepted")]
    Heic,
    /// Wider or taller than [`MAX_SIDE`], or more than the decoder's memory bound.
    #[error("image too large to decode")]
    TooManyPixels,
    /// A damaged or truncated file.
    #[error("unreadable file: {0}")]
    Unreadable(String),
}

/// The largest side of an image taken, in pixels (a 48 MP phone photo is 8000 wide).
pub const MAX_SIDE: u32 = 12_000;
/// The most pixels an image may have (a 48 MP phone sensor saves 12 MP photos).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The memory one decoded image may take (its copies, turned and reduced, come on top).
const MAX_DECODE_BYTES: u64 = 200 * 1024 * 1024;
/// The display size (the longer side) and the thumbnail's.
pub const PREVIEW_SIDE: u32 = 1600;
pub const THUMBNAIL_SIDE: u32 = 320;
/// Decodes at a time across the process: each may take [`MAX_DECODE_BYTES`].
pub const DECODERS: usize = 2;
static DECODING: std::sync::LazyLock<std::sync::Arc<tokio::sync::Semaphore>> =
    std::sync::LazyLock::new(|| std::sync::Arc::new(tokio::sync::Semaphore::new(DECODERS)));

/// What the first bytes say the file is.
pub fn sniff(bytes: &[u8]) -> Result<FileType, Refusal> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok(FileType::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(FileType::Png)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Ok(FileType::Webp)
    } else if bytes.starts_with(b"%PDF-") {
        Ok(FileType::Pdf)
    } else if bytes.len() >= 12
        && &bytes[4..8] == b"ftyp"
        && matches!(&bytes[8..12], b"heic" | b"heix" | b"mif1" | b"msf1" | b"heis" | b"hevc")
    {
        Err(Refusal::Heic)
    } else {
        Err(Refusal::Unsupported)
    }
}

/// A file as it is kept.
#[derive(Debug, Clone)]
pub struct Processed {
    pub file_type: FileType,
    /// The file served as "the original": a photo re-encoded without metadata
    /// (or as sent, when metadata is kept), a PDF as sent.
    pub original: Vec<u8>,
    /// A photo reduced for display (none when the original is small and stripped
    /// enough to show, or for a PDF).
    pub preview: Option<Vec<u8>>,
    /// A photo's thumbnail (JPEG); none for a PDF (shown by an icon).
    pub thumbnail: Option<Vec<u8>>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// Checks and prepares an upload, off the async runtime. With `keep_metadata`,
/// a photo's original is kept byte for byte (still decoded, to be checked and
/// reduced) and its display size is always made, as a JPEG without metadata.
pub async fn process(bytes: Vec<u8>, keep_metadata: bool) -> Result<Processed, Refusal> {
    let file_type = sniff(&bytes)?;
    if !file_type.is_image() {
        check_pdf(&bytes)?;
        return Ok(Processed { file_type, original: bytes, preview: None, thumbnail: None, width: None, height: None });
    }
    // The permit goes with the decode: a request given up does not free it early.
    let permit = DECODING.clone().acquire_owned().await.map_err(|e| Refusal::Unreadable(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        process_image(bytes, file_type, keep_metadata)
    })
    .await
    .map_err(|e| Refusal::Unreadable(format!("decoder stopped: {e}")))?
}

/// A PDF's header and its end-of-file marker (a truncated upload has none).
fn check_pdf(bytes: &[u8]) -> Result<(), Refusal> {
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    if tail.windows(5).any(|w| w == b"%%EOF") {
        Ok(())
    } else {
        Err(Refusal::Unreadable("a PDF without its end (truncated?)".to_owned()))
    }
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

fn decode(bytes: &[u8], file_type: FileType) -> Result<DynamicImage, Refusal> {
    let format = match file_type {
        FileType::Jpeg => ImageFormat::Jpeg,
        FileType::Png => ImageFormat::Png,
        FileType::Webp => ImageFormat::WebP,
        FileType::Pdf => return Err(Refusal::Unsupported),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits());
    let mut decoder = reader.into_decoder().map_err(refusal)?;
    // Judged from the header, before anything is allocated: the decoder's own
    // limits check the sides only.
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE
        || height > MAX_SIDE
        || u64::from(width) * u64::from(height) > MAX_PIXELS
        || decoder.total_bytes() > MAX_DECODE_BYTES
    {
        return Err(Refusal::TooManyPixels);
    }
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(refusal)?;
    image.apply_orientation(orientation);
    Ok(image)
}

fn refusal(err: image::ImageError) -> Refusal {
    match err {
        image::ImageError::Limits(_) => Refusal::TooManyPixels,
        other => Refusal::Unreadable(other.to_string()),
    }
}

fn process_image(bytes: Vec<u8>, file_type: FileType, keep_metadata: bool) -> Result<Processed, Refusal> {
    let image = decode(&bytes, file_type)?;
    let (width, height) = (image.width(), image.height());
    // PNG keeps its lossless pixels (scans, screenshots); photos become JPEG.
    let (kept_type, original) = match file_type {
        _ if keep_metadata => (file_type, bytes),
        FileType::Png => (FileType::Png, encode_png(&image)?),
        _ if image.color().has_alpha() && file_type == FileType::Webp => (FileType::Png, encode_png(&image)?),
        _ => (FileType::Jpeg, encode_jpeg(&image, 88)?),
    };
    // A kept original may carry its GPS position and be WebP: what is shown and
    // printed is always a stripped JPEG.
    let preview = if width.max(height) > PREVIEW_SIDE {
        Some(encode_jpeg(&image.resize(PREVIEW_SIDE, PREVIEW_SIDE, image::imageops::FilterType::Triangle), 82)?)
    } else if keep_metadata {
        Some(encode_jpeg(&image, 88)?)
    } else {
        None
    };
    let thumbnail = Some(encode_jpeg(&image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE), 78)?);
    Ok(Processed { file_type: kept_type, original, preview, thumbnail, width: Some(width), height: Some(height) })
}

fn encode_jpeg(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    // JPEG has no alpha: drawn over white, as a page would show it.
    let rgb = if image.color().has_alpha() { over_white(image) } else { image.to_rgb8() };
    rgb.write_with_encoder(encoder).map_err(|e| Refusal::Unreadable(e.to_string()))?;
    Ok(out)
}

fn over_white(image: &DynamicImage) -> image::RgbImage {
    let rgba = image.to_rgba8();
    image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let blend = |c: u8| -> u8 {
            let (c, a) = (u16::from(c), u16::from(a));
            u8::try_from((c * a + 255 * (255 - a)) / 255).unwrap_or(u8::MAX)
        };
        image::Rgb([blend(r), blend(g), blend(b)])
    })
}

fn encode_png(image: &DynamicImage) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::new();
    image
        .write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))
        .map_err(|e| Refusal::Unreadable(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let image = DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, _| {
            image::Rgb([u8::try_from(x % 256).unwrap_or(0), 80, 160])
        }));
        encode_jpeg(&image, 90).unwrap_or_default()
    }

    #[test]
    fn the_content_decides_the_type() {
        assert_eq!(sniff(&jpeg(4, 4)), Ok(FileType::Jpeg));
        assert_eq!(sniff(b"%PDF-1.7\n"), Ok(FileType::Pdf));
        assert_eq!(sniff(b"PK\x03\x04zip"), Err(Refusal::Unsupported));
        assert_eq!(sniff(b"<html><script>"), Err(Refusal::Unsupported));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), Err(Refusal::Heic));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Ok(FileType::Webp));
    }

    #[tokio::test]
    async fn photos_are_reduced_and_thumbnailed() {
        let processed = process(jpeg(2400, 1200), false).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((processed.width, processed.height), (Some(2400), Some(1200)));
        let preview = image::load_from_memory(&processed.preview.unwrap_or_default()).unwrap_or_default();
        assert_eq!((preview.width(), preview.height()), (1600, 800));
        let thumb = image::load_from_memory(&processed.thumbnail.unwrap_or_default()).unwrap_or_default();
        assert_eq!((thumb.width(), thumb.height()), (320, 160));
        let small = process(jpeg(800, 600), false).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(small.preview.is_none(), "small enough to show as it is");
    }

    #[tokio::test]
    async fn a_photo_kept_as_taken_is_shown_stripped() {
        let photo = jpeg(800, 600);
        let kept = process(photo.clone(), true).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kept.original, photo, "byte for byte");
        let preview = kept.preview.unwrap_or_default();
        assert_ne!(preview, photo, "a display copy is always made");
        assert_eq!(image::load_from_memory(&preview).map(|i| i.width()).ok(), Some(800));
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFF_u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    /// A PNG header declaring `width` × `height` grey pixels, and no pixel data.
    fn bomb_png(width: u32, height: u32) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], data: &[u8]| {
            png.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
            let mut body = kind.to_vec();
            body.extend_from_slice(data);
            png.extend_from_slice(&body);
            png.extend_from_slice(&crc32(&body).to_be_bytes());
        };
        let mut header = width.to_be_bytes().to_vec();
        header.extend_from_slice(&height.to_be_bytes());
        header.extend_from_slice(&[8, 0, 0, 0, 0]);
        chunk(b"IHDR", &header);
        chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        chunk(b"IEND", &[]);
        png
    }

    #[tokio::test]
    async fn a_decompression_bomb_is_refused_before_decoding() {
        // A PNG of a few bytes declaring 100,000 × 100,000 pixels (10 GB decoded).
        let png = bomb_png(100_000, 100_000);
        assert_eq!(process(png, false).await.err(), Some(Refusal::TooManyPixels));
        // Within the sides, beyond the pixels: 100 MP of grey.
        assert_eq!(process(bomb_png(10_000, 10_000), false).await.err(), Some(Refusal::TooManyPixels));
    }

    #[tokio::test]
    async fn truncated_files_are_refused() {
        let mut photo = jpeg(64, 64);
        photo.truncate(40);
        assert!(matches!(process(photo, false).await, Err(Refusal::Unreadable(_))));
        assert!(matches!(process(b"%PDF-1.7\n1 0 obj".to_vec(), false).await, Err(Refusal::Unreadable(_))));
        assert!(process(b"%PDF-1.7\n1 0 obj\n%%EOF\n".to_vec(), false).await.is_ok());
    }
}
