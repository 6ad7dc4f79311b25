import './style.css';

const app = document.querySelector<HTMLElement>('#app')!;
app.textContent = 'IM admin console';
