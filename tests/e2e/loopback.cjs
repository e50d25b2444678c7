// Preload for reference servers that listen on every interface: binds them to 127.0.0.1 so
// tests never open a port beyond loopback, and, when MANIFOLD_TEST_PORT_FILE is set, writes
// the port the OS chose (PORT=0) to that file once listening.
// Used as `node --require ./loopback.cjs server.js`.
const fs = require('node:fs');
const net = require('node:net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function loopbackListen(...args) {
  const first = args[0];
  const isPort = typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first));
  if (isPort) {
    const callback = args.find((a) => typeof a === 'function');
    args = [{ port: Number(first), host: '127.0.0.1' }];
    if (callback) args.push(callback);
  } else if (first && typeof first === 'object' && first.path === undefined && first.host === undefined) {
    args[0] = { ...first, host: '127.0.0.1' };
  }
  const portFile = process.env.MANIFOLD_TEST_PORT_FILE;
  if (portFile) {
    this.once('listening', () => {
      fs.writeFileSync(`${portFile}.tmp`, String(this.address().port));
      fs.renameSync(`${portFile}.tmp`, portFile);
    });
  }
  return listen.apply(this, args);
};
