// Swift cannot import FFmpeg's function-like and expression macros; these wrap them.
#ifndef AFFECTD_CFFMPEG_SHIM_H
#define AFFECTD_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavformat/avio.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/channel_layout.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>

static inline int affectd_averror(int e) { return AVERROR(e); }
static inline int affectd_averror_eof(void) { return AVERROR_EOF; }
static inline int affectd_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int affectd_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int affectd_averror_exit(void) { return AVERROR_EXIT; }
static inline int64_t affectd_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational affectd_time_base_q(void) { return AV_TIME_BASE_Q; }
static inline int affectd_avseek_size(void) { return AVSEEK_SIZE; }
static inline int affectd_avseek_force(void) { return AVSEEK_FORCE; }
#endif
