const answer = document.getElementById('answer');
async function hello() {
  try {
    const response = await fetch('/api/v1/hello');
    answer.textContent = `${response.status}\n${JSON.stringify(await response.json(), null, 2)}`;
  } catch (error) {
    answer.textContent = String(error);
  }
}
document.getElementById('hello').addEventListener('click', hello);
if (window.location.pathname !== '/')
  answer.textContent = `Client-side route ${window.location.pathname}`;
else hello();
