// Glass-to-glass probe, injected into Chromium pages (before the app) by bench/webrtc-glass.ts.
// The sender draws the wall clock (Date.now(), low 32 bits) as 32 black/white blocks into a
// canvas and sends canvas.captureStream(); the receiver reads the blocks back from each decoded
// frame (requestVideoFrameCallback) and records now - drawn. Both pages share the clock.
const BITS = 32, BLOCK = 20, TOP = 120;

window.glassCanvasStream = () => {
  const c = Object.assign(document.createElement("canvas"), { width: 640, height: 360 });
  const g = c.getContext("2d");
  const draw = () => {
    const t = Date.now() >>> 0;
    g.fillStyle = "#000";
    g.fillRect(0, 0, c.width, c.height);
    for (let i = 0; i < BITS; i++) {
      g.fillStyle = (t >>> (31 - i)) & 1 ? "#fff" : "#000";
      g.fillRect(i * BLOCK, TOP, BLOCK, BLOCK * 2);
    }
    g.fillStyle = "#888";
    g.fillRect((Date.now() / 10) % 600, 300, 40, 40); // motion, so the encoder keeps sending
  };
  setInterval(draw, 1000 / 60);
  draw();
  return c.captureStream(30);
};

window.glassProbe = (video) => {
  const samples = [];
  const c = Object.assign(document.createElement("canvas"), { width: 640, height: 360 });
  const g = c.getContext("2d", { willReadFrequently: true });
  const onFrame = () => {
    if (video.videoWidth) {
      c.width = video.videoWidth;
      c.height = video.videoHeight;
      g.drawImage(video, 0, 0, c.width, c.height);
      const sx = c.width / 640, sy = c.height / 360;
      let t = 0;
      for (let i = 0; i < BITS; i++) {
        const px = g.getImageData(Math.floor((i * BLOCK + BLOCK / 2) * sx), Math.floor((TOP + BLOCK) * sy), 1, 1).data;
        t = (t * 2) + (px[0] > 127 ? 1 : 0);
      }
      const now = Date.now() >>> 0;
      const d = (now - t + 2 ** 32) % 2 ** 32;
      if (d < 60000) samples.push(d); // a misread clock (compression noise) is far off
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  return samples;
};

// The broadcaster: the app's studio goes live "with the camera"; the camera is this clock.
window.glassUseCanvasAsCamera = () => {
  navigator.mediaDevices.getUserMedia = async (c) => {
    if (c && c.video) return window.glassCanvasStream();
    throw Object.assign(new Error("no microphone in the glass probe"), { name: "NotFoundError" });
  };
};

// Baseline: two RTCPeerConnections in this page, no server in between.
window.glassDirect = async (video) => {
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  b.ontrack = (e) => { video.srcObject = e.streams[0]; video.play(); };
  const s = window.glassCanvasStream();
  for (const t of s.getTracks()) a.addTrack(t, s);
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
};
