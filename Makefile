# Vigil: the two quick-start commands are `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# tshark, softflowd, pmacct (pmacctd) and nfdump (nfcapd): the real peers of the flow conformance tests
# (RealExporterTests, InspectRecordsTests, GenerateFlowsTests), which skip without them.
APT_PACKAGES := libzstd-dev pkg-config zstd tshark softflowd pmacct nfdump
DEMO_DIR ?= out/demo
SAMPLE := SampleData/fleet.vgl.zst

.PHONY: deps build release demo test test-tsan fuzz bench fmt clean

## deps: install the system packages the build and tests need (Debian), only those missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product vigil

## test: the whole suite (Swift Testing), then its concurrent tests under ThreadSanitizer, after installing what is missing.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	@echo "== the concurrent tests again under ThreadSanitizer (SPSC ring stress, parking, TCP senders, signal drain, source clocks, state checkpoints)"
	$(SWIFT) test --sanitize=thread --scratch-path .build-tsan --filter 'SPSCRingTests|ParkerTests|ParkingEngineTests|TCPSourceTests|RunCommandTests|HostileTCPTests|EventTimeTests|IdleWatermarkTests|AcknowledgementTCPTests|FlowInputTests|StateDirectoryRunTests|intervalCheckpointSurvivesKill'

## test-tsan: the whole suite under ThreadSanitizer (concurrency changes; make test runs the concurrent tests under it).
test-tsan: deps
	$(SWIFT) test --sanitize=thread

## fuzz: the seeded mutation tests of every flow decoder (NetFlow v5, v9, IPFIX, sFlow, pcap/pcapng) with
## 10^6 inputs each (make test runs 10^5 each); a few minutes.
fuzz: deps
	$(SWIFT) build --build-tests
	VIGIL_FUZZ_SCALE=10 $(SWIFT) test --skip-build --filter 'FlowMutationTests|SFlowCaptureMutationTests'

## demo: run Vigil on the SampleData recording; show alerts, their score against ground truth, rollup stats.
demo: release
	@./scripts/demo.sh "$(DEMO_DIR)"

## bench: whole-path benchmark (vigil bench) and the stage benchmarks (package-benchmark in Benchmarks/, a
## package of its own so that make test never builds it). Pass options through, e.g.
## make bench BENCH_ARGS='--filter "window.*" --scale' (Benchmarks/README.md).
bench: release
	.build/release/vigil bench
	cd Benchmarks && $(SWIFT) package benchmark --target VigilStageBenchmarks $(BENCH_ARGS)

fmt:
	$(SWIFT) format --in-place --recursive --configuration .swift-format Sources Tests Benchmarks/Benchmarks Benchmarks/Package.swift Package.swift

## clean: remove what the targets build: .build, .build-tsan (make test), Benchmarks/.build (make bench), out/
clean:
	rm -rf .build .build-tsan Benchmarks/.build out
