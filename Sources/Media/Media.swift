// Media: demux and decode video, audio and still images with FFmpeg's libraries; sample frames at
// exact presentation times; convert to RGB at native or model size. Knows nothing of models.
