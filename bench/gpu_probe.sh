#!/usr/bin/env bash
# Can the mindspore 2.10 wheel's GPU plugin (built for CUDA 11.1 / 11.6) run on this machine?
# libmindspore_gpu.so.11.6 needs: libcudart.so.11.0 libcublas.so.11 libcudnn.so.8 libcurand.so.10
# libcusolver.so.11 libcufft.so.10 libcusparse.so.11 libnvrtc.so.11.2 libcuda.so.1 (readelf -d, on the wheel).
echo "== GPU and driver"; nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv 2>&1
echo "== python"; python3 --version; uname -m
echo "== CUDA runtime libraries the plugin needs (ldconfig + filesystem search)"
for lib in libcuda.so.1 libcudart.so.11.0 libcublas.so.11 libcudnn.so.8 libcurand.so.10 libcusolver.so.11 libcufft.so.10 libcusparse.so.11 libnvrtc.so.11.2; do
  hit=$(ldconfig -p | grep -F "$lib" | head -1)
  [ -z "$hit" ] && hit=$(find / -xdev -name "$lib*" 2>/dev/null | head -1)
  echo "$lib: ${hit:-MISSING}"
done
echo "== CUDA runtimes present"; find / -xdev -name 'libcudart.so*' 2>/dev/null | head; nvcc --version 2>&1 | tail -1
python3 -c "import mindspore" 2>&1 | tail -1
