//! TLS beside plain HTTP on the gateway's one port: a local certificate
//! authority, created once and kept, signs a server certificate for this run
//! (localhost, the loopback addresses, and this API's execute-api host name).
//! Function processes trust the authority through the variables their runtimes
//! read; a browser or a CLI can be told to trust `ca.pem`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a usable key: {source}")]
    Key { path: PathBuf, source: rcgen::Error },
    #[error("cannot make a certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("cannot use the certificate: {0}")]
    Rustls(#[from] rustls::Error),
}

/// TLS for this run: the server's config, and what function processes need to trust it.
pub struct Tls {
    pub server: Arc<rustls::ServerConfig>,
    /// The authority's certificate, for clients to trust.
    pub ca_path: PathBuf,
    /// `NODE_EXTRA_CA_CERTS`, `AWS_CA_BUNDLE`, `SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`.
    pub trust_env: Vec<(String, String)>,
}

impl Tls {
    /// Loads (or creates) the authority in `ca_dir` and makes this run's certificate.
    pub fn setup(ca_dir: &Path, names: &[String], ips: &[IpAddr]) -> Result<Self, TlsError> {
        let ca = LocalCa::load_or_create(ca_dir)?;
        let bundle = ca.write_bundle()?.to_string_lossy().into_owned();
        let ca_path = ca.cert_path();
        let ca_text = ca_path.to_string_lossy().into_owned();
        Ok(Self {
            server: ca.server_config(names, ips)?,
            trust_env: vec![
                // Node adds it to its own roots.
                ("NODE_EXTRA_CA_CERTS".into(), ca_text),
                // botocore, OpenSSL (Python's ssl), rustls-native-certs, requests:
                // each takes one file, so the bundle keeps the system's roots.
                ("AWS_CA_BUNDLE".into(), bundle.clone()),
                ("SSL_CERT_FILE".into(), bundle.clone()),
                ("REQUESTS_CA_BUNDLE".into(), bundle),
            ],
            ca_path,
        })
    }
}

/// The authority's name; a kept key with this name signs every run's certificate.
const CA_NAME: &str = "wsgate local development CA";

/// Where the local authority lives when the config does not say.
pub fn default_ca_dir() -> PathBuf {
    crate::dirs::user_dir("WSGATE_CA_DIR", "XDG_DATA_HOME", ".local/share", "ca")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_owned(),
        source,
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CA_NAME);
    name.push(DnType::OrganizationName, "wsgate");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// The local certificate authority.
pub struct LocalCa {
    dir: PathBuf,
    key: KeyPair,
}

impl LocalCa {
    /// Loads the authority from `dir`, creating it (key and certificate) the first time.
    pub fn load_or_create(dir: &Path) -> Result<Self, TlsError> {
        let key_path = dir.join("ca.key");
        let cert_path = dir.join("ca.pem");
        if key_path.exists() != cert_path.exists() {
            // Half an authority: a new key would not match what clients already trust.
            let (have, missing) = if key_path.exists() {
                (&key_path, &cert_path)
            } else {
                (&cert_path, &key_path)
            };
            return Err(TlsError::Io {
                path: missing.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!(
                        "the local CA has {} but not this file: remove the folder to make a new one",
                        have.display()
                    ),
                ),
            });
        }
        if key_path.exists() && cert_path.exists() {
            let text = std::fs::read_to_string(&key_path).map_err(io(&key_path))?;
            let key = KeyPair::from_pem(&text).map_err(|source| TlsError::Key {
                path: key_path.clone(),
                source,
            })?;
            return Ok(Self {
                dir: dir.to_owned(),
                key,
            });
        }
        // Made whole in a folder of its own, then renamed into place: gateways
        // starting at once never pair one's key with another's certificate.
        let parent = dir.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        let staging = parent.join(format!(
            ".wsgate-ca.{}.{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&staging).map_err(io(&staging))?;
        let key = KeyPair::generate()?;
        let mut params = ca_params();
        let (y, m, d) = today();
        params.not_before = rcgen::date_time_ymd(y - 1, m, d.min(28));
        params.not_after = rcgen::date_time_ymd(y + 10, m, d.min(28));
        let cert = params.self_signed(&key)?;
        write_private(&staging.join("ca.key"), &key.serialize_pem())?;
        let staged_cert = staging.join("ca.pem");
        std::fs::write(&staged_cert, cert.pem()).map_err(io(&staged_cert))?;
        if std::fs::rename(&staging, dir).is_err() {
            // Another gateway made it first (or the folder holds other files): use what is there.
            let _ = std::fs::remove_dir_all(&staging);
            if key_path.exists() && cert_path.exists() {
                return Self::load_or_create(dir);
            }
            // A folder with other files in it: the authority goes in beside them.
            std::fs::create_dir_all(dir).map_err(io(dir))?;
            write_private(&key_path, &key.serialize_pem())?;
            std::fs::write(&cert_path, cert.pem()).map_err(io(&cert_path))?;
        }
        tracing::info!(
            "created a local certificate authority in {} (trust {} to use wss:// and https:// from browsers and tools)",
            dir.display(),
            cert_path.display()
        );
        Ok(Self {
            dir: dir.to_owned(),
            key,
        })
    }

    /// The authority's certificate: what clients trust.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The system's roots plus the authority, for runtimes that take one file
    /// (`SSL_CERT_FILE`, `AWS_CA_BUNDLE`): real AWS must stay reachable.
    pub fn write_bundle(&self) -> Result<PathBuf, TlsError> {
        let path = self.dir.join("bundle.pem");
        let ca_path = self.cert_path();
        let mut bundle = std::fs::read_to_string(&ca_path).map_err(io(&ca_path))?;
        let system = [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/cert.pem",
        ]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok());
        match system {
            Some(roots) => {
                bundle.push('\n');
                bundle.push_str(&roots);
            }
            None => tracing::warn!(
                "no system CA bundle found: functions will trust only the local authority"
            ),
        }
        crate::dirs::write_whole(&path, bundle.as_bytes()).map_err(io(&path))?;
        Ok(path)
    }

    /// A server config with a certificate for these names and addresses, for this run.
    pub fn server_config(
        &self,
        names: &[String],
        ips: &[IpAddr],
    ) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(names.to_vec())?;
        params
            .subject_alt_names
            .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().map_or("localhost", |n| n));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let (y, m, d) = today();
        params.not_before = rcgen::date_time_ymd(y - 1, m, d.min(28));
        params.not_after = rcgen::date_time_ymd(y + 1, m, d.min(28));
        let issuer = Issuer::new(ca_params(), &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )?;
        // WebSockets upgrade over HTTP/1.1; SDKs speak either.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn today() -> (i32, u8, u8) {
    use chrono::Datelike;
    let now = chrono::Utc::now();
    (now.year(), now.month() as u8, now.day() as u8)
}

/// A key file only its owner reads.
fn write_private(path: &Path, text: &str) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    file.write_all(text.as_bytes()).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authority_is_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = LocalCa::load_or_create(dir.path()).unwrap();
        let pem = std::fs::read_to_string(first.cert_path()).unwrap();
        let again = LocalCa::load_or_create(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(again.cert_path()).unwrap(), pem);
        let half = tempfile::tempdir().unwrap();
        std::fs::copy(dir.path().join("ca.key"), half.path().join("ca.key")).unwrap();
        let err = LocalCa::load_or_create(half.path())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("ca.pem") && err.contains("remove the folder"),
            "{err}"
        );
        let config = again
            .server_config(&["localhost".into()], &["127.0.0.1".parse().unwrap()])
            .unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        let bundle = std::fs::read_to_string(again.write_bundle().unwrap()).unwrap();
        assert!(bundle.starts_with(&pem));
    }
}
