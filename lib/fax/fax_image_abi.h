/* The plain-C boundary of the sms-fax-image module (Magick++): nothing C++ crosses it, so the
 * module and the suite need not share a C++ runtime or exception model. */
#ifndef SMS_FAX_IMAGE_ABI_H
#define SMS_FAX_IMAGE_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ImageMagick's resource limits for one picture ([fax] image_max_*); 0 leaves a limit as
 * policy.xml sets it. Limits only go down from policy.xml's. */
typedef struct sms_fax_image_limits {
    uint64_t memory; /* bytes of pixel cache in memory */
    uint64_t disk;   /* bytes of pixel cache on disk */
    uint64_t area;   /* pixels of one frame */
    uint64_t width;  /* pixels */
    uint64_t height; /* pixels */
    uint64_t time;   /* seconds */
    uint64_t frames; /* frames of one picture ([fax] max_pages: each frame is a page at least) */
} sms_fax_image_limits;

typedef struct sms_fax_image sms_fax_image;

/* Every function returning int returns 0 or a sysexits code (65 bad or too large picture, 70
 * internal), with a one-line reason in err. */

/* Decodes a picture (every frame) from memory; `name` is only for messages. Only PNG, JPEG,
 * GIF, TIFF, BMP, PNM and WebP, known from their bytes; frames, sizes and the pixel cache they
 * need are checked against the limits, and a truncated file refused, before any decoding. */
int sms_fax_image_open(const void* data, size_t size, const char* name,
                       const sms_fax_image_limits* limits, sms_fax_image** out, char* err,
                       size_t errlen);
size_t sms_fax_image_frames(const sms_fax_image* img);
/* A frame's size in pixels, upright (EXIF orientation applied). */
void sms_fax_image_size(const sms_fax_image* img, size_t frame, uint32_t* width, uint32_t* rows);
/* The rectangle (x, y, w, h) of a frame, transparency over white, as grey scaled to
 * out_w x out_h: out_w * out_h bytes, 0 black to 255 white, row after row. */
int sms_fax_image_gray(sms_fax_image* img, size_t frame, uint32_t x, uint32_t y, uint32_t w,
                       uint32_t h, uint32_t out_w, uint32_t out_h, unsigned char* out, char* err,
                       size_t errlen);
void sms_fax_image_close(sms_fax_image* img);

/* Writes an 8-bit grey PNG to `fd` (not closed), asking for the rows in order. */
typedef const unsigned char* (*sms_fax_png_row)(void* ctx, uint32_t y);
int sms_fax_png_write(int fd, uint32_t width, uint32_t rows, sms_fax_png_row row, void* ctx,
                      char* err, size_t errlen);

/* "ImageMagick 6.9.11-60 Q16, libpng 1.6.39" */
const char* sms_fax_image_version(void);

#ifdef __cplusplus
}
#endif

#endif
