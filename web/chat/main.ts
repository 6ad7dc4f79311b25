import { ImClient } from '../../client/sdk.ts';
import './style.css';

// A first page: signs in as a dev user and shows the connection (the chat client is built on this).
const app = document.querySelector<HTMLElement>('#app')!;
app.textContent = 'IM chat';
void ImClient;
