/** What the SDK hears from its connection. */
export interface SocketHandlers {
  /** The server refused the upgrade with an HTTP answer (Node only: a browser does not see it). */
  refused(status: number, body: string): void;
  error(message: string, cause?: unknown): void;
  message(data: Uint8Array): void;
  close(code: number, reason: string): void;
}

/** The SDK's WebSocket, whatever the platform gives. */
export interface ClientSocket {
  readonly open: boolean;
  readonly closed: boolean;
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Drops the connection without a closing handshake. */
  terminate(): void;
}

export type OpenSocket = (url: URL, token: string, handlers: SocketHandlers) => ClientSocket;
