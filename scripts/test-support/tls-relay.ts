/**
 * A TLS front for a plain server on loopback, for testing TLS options against servers that run
 * without TLS here (Redis): it terminates TLS with a self-signed certificate made by openssl for
 * 127.0.0.1 and relays each connection to the plain port. Counts the connections it relayed, so a
 * test can tell its traffic went through TLS.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";

export interface TlsRelay {
  readonly port: number;
  /** The self-signed certificate (PEM): a client trusts the relay by passing it as `ca`. */
  readonly certificate: string;
  /** Connections accepted so far, counted before the handshake (a client that rejects the certificate counts). */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startTlsRelay(targetPort: number): Promise<TlsRelay> {
  const dir = mkdtempSync(join(tmpdir(), "taskport-tls-"));
  try {
    const subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"];
    const files = ["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")];
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", ...subject, ...files], { stdio: "ignore" });
    const key = readFileSync(join(dir, "key.pem"), "utf8");
    const certificate = readFileSync(join(dir, "cert.pem"), "utf8");
    let connections = 0;
    const sockets = new Set<{ destroy(): void }>();
    const server: Server = createServer({ key, cert: certificate }, (secure) => {
      const plain = connect(targetPort, "127.0.0.1");
      sockets.add(secure).add(plain);
      secure.pipe(plain).pipe(secure);
      const end = () => {
        secure.destroy();
        plain.destroy();
      };
      secure.on("error", end).on("close", end);
      plain.on("error", end).on("close", end);
    });
    server.on("connection", () => connections++);
    server.on("tlsClientError", () => {}); // a client that refused the certificate: its own test says so
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("the TLS relay has no port");
    return {
      port: address.port,
      certificate,
      get connections() {
        return connections;
      },
      async close() {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What `check()` of an adapter configured for TLS says through the relay, whose certificate it does
 * not trust: whether it reached the relay, and its problems' messages. The adapter is closed after.
 */
export async function checkThroughUntrusted(
  relay: TlsRelay,
  adapter: { check?(): Promise<readonly { message: string }[]>; close(): Promise<void> },
): Promise<{ reached: boolean; messages: string }> {
  const before = relay.connections;
  const problems = (await adapter.check?.()) ?? [];
  await adapter.close();
  return { reached: relay.connections > before, messages: problems.map((p) => p.message).join(" ") };
}
