# Every template of PCA-API.md §7.3 x every CA key algorithm (RSA_2048/3072/4096,
# EC_prime256v1/secp384r1/secp521r1) x a matching signing algorithm (rotating through
# SHA-256/384/512): each certificate is checked extension by extension (the lint's
# DER parser and `openssl x509 -text`, two independent readers), passes the lint with
# its template's profile, and verifies with `openssl verify -x509_strict` against the
# chain GetCertificate returns. The revocation configuration varies by CA so that
# CDP and AIA are seen present, absent, with CNAMEs and omitted (§7.2, §11.15).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Issue;
use JSON::PP ();

my @ALGS = key_algorithms();
my @TEMPLATES = all_templates();
plan tests => @ALGS + 3 * @ALGS * @TEMPLATES, need_module('acmpca');

my $T = JSON::PP::true;
my %REVOCATION = (
    RSA_2048 => { CrlConfiguration => { Enabled => $T, S3BucketName => 'tmpl-crl' }, OcspConfiguration => { Enabled => $T } },
    RSA_3072 => { CrlConfiguration => { Enabled => $T, S3BucketName => 'tmpl-crl', CustomPath => 'lists' } },
    RSA_4096 => { OcspConfiguration => { Enabled => $T } },
    EC_secp384r1 => { CrlConfiguration => { Enabled => $T, S3BucketName => 'tmpl-crl', CustomCname => 'crl.example.com' },
                      OcspConfiguration => { Enabled => $T, OcspCustomCname => 'ocsp.example.com' } },
    EC_secp521r1 => { CrlConfiguration => { Enabled => $T, S3BucketName => 'tmpl-crl',
                                            CrlDistributionPointExtensionConfiguration => { OmitExtension => $T } } },
);

# What CDP and AIA must say for a CA (undef: absent).
sub want_urls {
    my($alg, $id) = @_;
    my $rc = $REVOCATION{$alg} || {};
    my($crl, $ocsp) = ($rc->{CrlConfiguration}, $rc->{OcspConfiguration});
    my($cdp, $aia);
    if ($crl && !($crl->{CrlDistributionPointExtensionConfiguration} || {})->{OmitExtension}) {
        my $file = ($crl->{CustomPath} // 'crl') . "/$id.crl";
        $cdp = $crl->{CustomCname} ? qr{^\Qhttp://$crl->{CustomCname}/$file\E$}
                                   : qr{^http://127\.0\.0\.1:\d+/\Q$crl->{S3BucketName}/$file\E$};
    }
    if ($ocsp) {
        $aia = $ocsp->{OcspCustomCname} ? qr{^\Qhttp://$ocsp->{OcspCustomCname}\E$} : qr{^http://127\.0\.0\.1:\d+/ocsp$};
    }
    ($cdp, $aia);
}

# Subject CSRs: an EC and an RSA key, each with a SAN and an extension only CSR
# passthrough copies (private arc, non-critical).
my @CSRS = map {
    make_csr(key => $_, subj => '/O=CSR Org/CN=template subject',
             ext => ['subjectAltName=DNS:csr.example,IP:192.0.2.10', '1.3.6.1.4.1.99999.3=ASN1:UTF8String:from the CSR'])
} 'ec:P-256', 'rsa:2048';
my $CSR_EXT = '1.3.6.1.4.1.99999.3';
my $API_POLICY = '1.3.6.1.4.1.99999.100';

# ApiPassthrough for API varieties; blank templates take KU and EKU from it.
sub api_for {
    my $e = shift;
    return undef unless $e->{api};
    my %ext = (CertificatePolicies => [{ CertPolicyId => $API_POLICY }]);
    if ($e->{blank}) {
        $ext{KeyUsage} = $e->{ca} ? { KeyCertSign => $T, CRLSign => $T, DigitalSignature => $T }
                                  : { DigitalSignature => $T, NonRepudiation => $T };
        $ext{ExtendedKeyUsage} = [{ ExtendedKeyUsageType => 'CLIENT_AUTH' }, { ExtendedKeyUsageType => 'SMART_CARD_LOGIN' }]
            unless $e->{ca};
    }
    return { Subject => { CommonName => 'api subject', Organization => 'API' }, Extensions => \%ext };
}

sub ext_view { my($l, $name) = @_; (grep { $_->{name} eq $name } @{ ($l->{cert} || {})->{extensions} || [] })[0] }

# Every difference from what the template, the API, the CSR and the CA define.
sub mismatches {
    my($c, $l, $e, $alg, $ca, $text) = @_;
    my @bad;
    my $want_ku = $e->{blank} ? ($e->{ca} ? 'Digital Signature, Certificate Sign, CRL Sign' : 'Digital Signature, Non Repudiation')
                              : $e->{ku};
    my $want_eku = $e->{blank} ? ($e->{ca} ? undef : 'TLS Web Client Authentication, Microsoft Smartcard Login')
                               : $e->{eku};
    # basic constraints
    my($bcc, $bc) = ext_of($text, 'Basic Constraints');
    my $want_bc = $e->{ca} ? 'CA:TRUE' . (defined $e->{pathlen} ? ", pathlen:$e->{pathlen}" : '') : 'CA:FALSE';
    push @bad, "BasicConstraints '$bc' critical=$bcc" unless ($bc // '') eq $want_bc && $bcc == ($e->{bc_critical} ? 1 : 0);
    my $v = ext_view($l, 'basicConstraints');
    push @bad, 'lint view of BasicConstraints' unless $v && !!$v->{value}{ca} == !!$e->{ca}
        && (($v->{value}{pathlen} // -1) == ($e->{pathlen} // -1));
    # key usage, always critical
    my($kuc, $ku) = ext_of($text, 'Key Usage');
    push @bad, "KeyUsage '" . ($ku // '') . "'" unless ($ku // '') eq $want_ku && $kuc;
    # extended key usage
    my($ekuc, $eku) = ext_of($text, 'Extended Key Usage');
    if (defined $want_eku) {
        push @bad, "EKU '" . ($eku // '') . "'" unless ($eku // '') eq $want_eku && $ekuc == ($e->{eku_critical} ? 1 : 0);
    }
    elsif (defined $eku) {
        push @bad, "unexpected EKU '$eku'";
    }
    # key identifiers: SKI method 1 is the lint's; AKI = issuer SKI
    my $ski = ACMPCA::Test::key_id($text, 'Subject Key Identifier');
    my $aki = ACMPCA::Test::key_id($text, 'Authority Key Identifier');
    my $issuer_ski = $e->{root} ? $ski : $ca->{ski};
    push @bad, 'no SKI' unless $ski;
    push @bad, "AKI $aki != issuer SKI $issuer_ski" unless $aki && $issuer_ski && $aki eq $issuer_ski;
    # subject and SAN: API subject for API varieties, else the CSR's; SAN from the CSR
    my($subject) = $text =~ /^\s*Subject: (.*)$/m;
    my $want_subject = $e->{api} ? 'O = API, CN = api subject'
                     : $e->{root} ? $ca->{csr_subject} // 'the CA CSR subject' : 'O = CSR Org, CN = template subject';
    push @bad, "subject '" . ($subject // '') . "' != '$want_subject'" unless ($subject // '') eq $want_subject;
    my($issuer) = $text =~ /^\s*Issuer: (.*)$/m;
    push @bad, 'issuer is not the subject of a self-signed certificate' if $e->{root} && ($issuer // '') ne ($subject // 'x');
    my(undef, $san) = ext_of($text, 'Subject Alternative Name');
    if ($e->{root}) {
        push @bad, "SAN on a root certificate: $san" if defined $san;
    }
    else {
        push @bad, 'SAN ' . ($san // 'none') unless ($san // '') eq 'DNS:csr.example, IP Address:192.0.2.10';
    }
    # API and CSR passthrough
    my $cp = ext_view($l, 'certificatePolicies');
    push @bad, 'CertificatePolicies ' . ($cp ? 'present' : 'absent')
        unless !!$cp == !!$e->{api} && (!$cp || $cp->{value}[0]{policy} eq $API_POLICY);
    my $custom = ext_view($l, $CSR_EXT);
    push @bad, 'CSR extension ' . ($custom ? 'copied' : 'missing') unless !!$custom == !!($e->{csr} && !$e->{root});
    # CDP and AIA from the CA's configuration; never on a root's own certificate
    my($want_cdp, $want_aia) = $e->{root} ? () : want_urls($alg, ca_id_of($ca->{arn}));
    my $cdp = ext_view($l, 'cRLDistributionPoints');
    my $cdp_uri = $cdp && $cdp->{value}[0] ? $cdp->{value}[0]{UniformResourceIdentifier} : undef;
    push @bad, 'CDP ' . ($cdp_uri // 'absent') unless defined $want_cdp ? defined $cdp_uri && $cdp_uri =~ $want_cdp && !$cdp->{critical} : !$cdp;
    my $aia = ext_view($l, 'authorityInfoAccess');
    my $aia_uri = $aia && $aia->{value}[0] && $aia->{value}[0]{method} eq '1.3.6.1.5.5.7.48.1'
        ? ($aia->{value}[0]{location} || {})->{UniformResourceIdentifier} : undef;
    push @bad, 'AIA ' . ($aia_uri // 'absent') unless defined $want_aia ? defined $aia_uri && $aia_uri =~ $want_aia && !$aia->{critical} : !$aia;
    # signature algorithm
    my %sig = (SHA256WITHRSA => 'sha256WithRSAEncryption', SHA384WITHRSA => 'sha384WithRSAEncryption',
               SHA512WITHRSA => 'sha512WithRSAEncryption', SHA256WITHECDSA => 'ecdsa-with-SHA256',
               SHA384WITHECDSA => 'ecdsa-with-SHA384', SHA512WITHECDSA => 'ecdsa-with-SHA512');
    push @bad, "signature algorithm is not $sig{$c->{signing}}" unless $text =~ /Signature Algorithm: \Q$sig{$c->{signing}}\E/;
    @bad;
}

for my $alg (@ALGS) {
    my @sigs = signing_algorithms($alg);
    my $R = make_root_active(key => $alg, signing => $sigs[0], cn => uniq("Tmpl $alg"),
                             ($REVOCATION{$alg} ? (extra => { RevocationConfiguration => $REVOCATION{$alg} }) : ()));
    ok($R, "an ACTIVE $alg root");
    if ($R) {
        $R->{ski} = ACMPCA::Test::key_id(cert_text($R->{cert}) // '', 'Subject Key Identifier');
        ($R->{csr_subject}) = (csr_text($R->{csr}) // '') =~ /^\s*Subject: (.*)$/m;
    }
    my(@issued, $i);
    for my $t (@TEMPLATES) {
        my $e = template_expect($t);
        my $signing = $sigs[$i++ % @sigs];
        my $c = $R ? issue_get($R->{arn}, $e->{root} ? $R->{csr} : $CSRS[$i % 2]{csr}, template => $t, signing => $signing,
                               api => api_for($e), validity => { Type => 'DAYS', Value => $e->{root} ? 365 : 30 }) : undef;
        push @issued, [$t, $e, $c];
    }
    my $lints = lint_batch([map { $_->[2] || { cert => '' } } @issued]);
    for my $k (0 .. $#issued) {
        my($t, $e, $c) = @{ $issued[$k] };
        my $l = $lints->[$k];
        my $name = "$alg, $t" . ($c ? " ($c->{signing})" : '');
        ok($c && !@{ $l->{errors} }, "$name: lint clean") or diag(join "\n", @{ $l->{errors} });
        my $text = $c ? x509_text($c->{cert}) // '' : '';
        my @bad = $c ? mismatches($c, $l, $e, $alg, $R, $text) : ('not issued');
        ok(!@bad, "$name: extensions as defined") or diag(join "\n", @bad);
        verify_strict_ok($c, "$name: openssl verify -x509_strict with the chain");
    }
}
