// The recording page: a click on a timeline event seeks the video there and plays it; while
// the composition runs, the page is read again now and then to show its progress.
const video = document.getElementById("recording-video");
for (const button of document.querySelectorAll("button.chapter")) {
  button.addEventListener("click", () => {
    if (!video) return;
    video.currentTime = Number(button.dataset.offset);
    video.play().catch(() => {});
  });
}
if (document.getElementById("composition-progress")) {
  setTimeout(() => window.location.reload(), 5000);
}
