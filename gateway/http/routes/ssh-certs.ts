// SSH certificates for the signed-in user (issue 18): `portcullis login` sends the public key it
// just made and gets a short-lived OpenSSH user certificate bound to that sign-in; `portcullis
// ssh-config` reads where the SSH listener is and the host key to pin. The user CA's public key is
// public (sshd's TrustedUserCAKeys, audits); its private key never leaves the service.
import { type Route, route } from '../router.js';
import { me } from './identity.js';

export const sshCertRoutes: Route[] = [
  route('POST', '/api/v1/ssh/certificates', 'any', async (c) => {
    const issued = await c.services.sshCerts.issue(me(c), c.token, c.body.str('public_key'));
    return {
      certificate: issued.certificate, principal: issued.principal, key_id: issued.keyId, serial: issued.serial,
      valid_before: new Date(issued.validBefore).toISOString(),
    };
  }),
  route('GET', '/api/v1/ssh/info', 'any', (c) => ({
    host: c.services.addresses.sshHost, port: c.services.addresses.sshPort, user: me(c).name,
    host_key: c.services.sshCerts.hostKeyLine(), user_ca: c.services.sshCerts.userCaLine(),
  })),
  route('GET', '/api/v1/ssh/user-ca', 'public', (c) => ({ public_key: c.services.sshCerts.userCaLine() })),
];
