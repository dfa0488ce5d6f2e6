# Passthrough precedence (PCA-API.md §7.3, AWS template-order-of-operations): the
# template wins over ApiPassthrough, which wins over the CSR; ApiPassthrough counts only
# for API varieties and CSR extensions only for CSR varieties (SAN always comes from the
# CSR unless the API gives one); extensions the CA manages never come from the caller;
# RFC 5280's CA-only content is refused on end-entity templates; template and
# path-length rules. Every certificate issued here passes the lint.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Issue;
use JSON::PP ();

my $T = JSON::PP::true;
my @CASES;    # filled below: each issues once and asserts once
my @ISSUED;   # every certificate, for the lint at the end

my $R = make_root_active(key => 'EC_secp384r1', cn => uniq('Passthrough Root'));
my $S1 = make_sub_active($R, key => 'EC_prime256v1', pathlen => 1, cn => uniq('PathLen1 Sub'));
my $S0 = make_sub_active($S1, key => 'RSA_2048', pathlen => 0, cn => uniq('PathLen0 Sub'),
                         validity => { Type => 'DAYS', Value => 200 });

# A CSR asking for much: its own KU, EKU, policies, an unknown extension, a SAN.
my $CSR = make_csr(subj => '/O=CSR/CN=csr subject', ext => [
    'subjectAltName=DNS:csr.example', 'keyUsage=critical,digitalSignature,keyAgreement',
    'extendedKeyUsage=emailProtection', 'certificatePolicies=1.3.6.1.4.1.99999.200',
    '1.3.6.1.4.1.99999.3=ASN1:UTF8String:csr'])->{csr};
my $PLAIN = make_csr(subj => '/CN=plain', ext => ['subjectAltName=DNS:plain.example'])->{csr};

my $API = { Subject => { CommonName => 'api subject', Country => 'DE' },
            Extensions => {
                KeyUsage => { DigitalSignature => $T, NonRepudiation => $T },
                ExtendedKeyUsage => [{ ExtendedKeyUsageType => 'CLIENT_AUTH' },
                                     { ExtendedKeyUsageObjectIdentifier => '1.3.6.1.4.1.99999.7' }],
                CertificatePolicies => [{ CertPolicyId => '1.3.6.1.4.1.99999.100', PolicyQualifiers => [
                    { PolicyQualifierId => 'CPS', Qualifier => { CpsUri => 'https://example.com/cps' } }] }],
                SubjectAlternativeNames => [{ DnsName => 'api.example' }, { Rfc822Name => 'pki@example.com' }],
            } };

sub view_ext { my($c, $name) = @_; (grep { $_->{name} eq $name } @{ ($c->{lint}{cert} || {})->{extensions} || [] })[0] }
sub vals { my $e = view_ext(@_); $e ? $e->{value} : undef }
sub subject_of { my($s) = ($_[0]{text} // '') =~ /^\s*Subject: (.*)$/m; $s // '' }
sub sans { join ',', map { my($k) = keys %$_; "$k=$_->{$k}" } @{ vals($_[0], 'subjectAltName') || [] } }
sub policies { join ',', map { $_->{policy} } @{ vals($_[0], 'certificatePolicies') || [] } }

# case(name, issuer, csr, {issue options}, sub { @mismatches } | [error type, message re])
sub case { push @CASES, [@_] }

# ---- the base template ignores ApiPassthrough and CSR extensions (but SAN)
case('EndEntityCertificate/V1: ApiPassthrough ignored, CSR extensions but SAN ignored', $R, $CSR,
     { template => 'EndEntityCertificate/V1', api => $API }, sub {
    my $c = shift;
    (subject_of($c) eq 'O = CSR, CN = csr subject' ? () : 'subject: ' . subject_of($c)),
    (join(',', @{ vals($c, 'keyUsage') }) eq 'digitalSignature,keyEncipherment' ? () : 'KU'),
    (join(',', @{ vals($c, 'extKeyUsage') }) eq '1.3.6.1.5.5.7.3.1,1.3.6.1.5.5.7.3.2' ? () : 'EKU'),
    (sans($c) eq 'DnsName=csr.example' ? () : 'SAN ' . sans($c)),
    (view_ext($c, 'certificatePolicies') ? 'policies copied' : ()),
    (view_ext($c, '1.3.6.1.4.1.99999.3') ? 'CSR extension copied' : ());
});

# ---- API variety: subject and SAN from the API, KU/EKU from the template
case('EndEntityCertificate_APIPassthrough/V1: template KU/EKU win, API subject/SAN/policies', $R, $CSR,
     { template => 'EndEntityCertificate_APIPassthrough/V1', api => $API }, sub {
    my $c = shift;
    (subject_of($c) eq 'C = DE, CN = api subject' ? () : 'subject: ' . subject_of($c)),
    (join(',', @{ vals($c, 'keyUsage') }) eq 'digitalSignature,keyEncipherment' ? () : 'KU from the API'),
    (join(',', @{ vals($c, 'extKeyUsage') }) eq '1.3.6.1.5.5.7.3.1,1.3.6.1.5.5.7.3.2' ? () : 'EKU from the API'),
    (sans($c) eq 'DnsName=api.example,Rfc822Name=pki@example.com' ? () : 'SAN ' . sans($c)),
    (policies($c) eq '1.3.6.1.4.1.99999.100' ? () : 'policies ' . policies($c)),
    (view_ext($c, '1.3.6.1.4.1.99999.3') ? 'CSR extension copied without CSR passthrough' : ());
});

# ---- CSR variety: CSR extensions the template does not define; API ignored
case('EndEntityCertificate_CSRPassthrough/V1: template KU/EKU win, CSR policies and extensions, API ignored', $R, $CSR,
     { template => 'EndEntityCertificate_CSRPassthrough/V1', api => $API }, sub {
    my $c = shift;
    (subject_of($c) eq 'O = CSR, CN = csr subject' ? () : 'subject: ' . subject_of($c)),
    (join(',', @{ vals($c, 'keyUsage') }) eq 'digitalSignature,keyEncipherment' ? () : 'KU from the CSR'),
    (join(',', @{ vals($c, 'extKeyUsage') }) eq '1.3.6.1.5.5.7.3.1,1.3.6.1.5.5.7.3.2' ? () : 'EKU from the CSR'),
    (sans($c) eq 'DnsName=csr.example' ? () : 'SAN ' . sans($c)),
    (policies($c) eq '1.3.6.1.4.1.99999.200' ? () : 'policies ' . policies($c)),
    (view_ext($c, '1.3.6.1.4.1.99999.3') ? () : 'CSR extension not copied');
});

# ---- APICSR: template > API > CSR
case('EndEntityCertificate_APICSRPassthrough/V1: API policies and SAN over the CSR\'s, CSR fills the rest', $R, $CSR,
     { template => 'EndEntityCertificate_APICSRPassthrough/V1', api => $API }, sub {
    my $c = shift;
    (subject_of($c) eq 'C = DE, CN = api subject' ? () : 'subject: ' . subject_of($c)),
    (join(',', @{ vals($c, 'keyUsage') }) eq 'digitalSignature,keyEncipherment' ? () : 'KU not the template\'s'),
    (sans($c) eq 'DnsName=api.example,Rfc822Name=pki@example.com' ? () : 'SAN ' . sans($c)),
    (policies($c) eq '1.3.6.1.4.1.99999.100' ? () : 'policies ' . policies($c)),
    (view_ext($c, '1.3.6.1.4.1.99999.3') ? () : 'CSR extension not copied');
});

# ---- blank templates: KU/EKU from API, else CSR (CSR only for APICSR)
case('BlankEndEntityCertificate_APICSRPassthrough/V1: API KU over the CSR\'s, CSR EKU where the API has none', $R, $CSR,
     { template => 'BlankEndEntityCertificate_APICSRPassthrough/V1',
       api => { Extensions => { KeyUsage => { DigitalSignature => $T } } } }, sub {
    my $c = shift;
    my $bc = vals($c, 'basicConstraints') || {};
    (join(',', @{ vals($c, 'keyUsage') }) eq 'digitalSignature' ? () : 'KU ' . join(',', @{ vals($c, 'keyUsage') })),
    (join(',', @{ vals($c, 'extKeyUsage') || [] }) eq '1.3.6.1.5.5.7.3.4' ? () : 'EKU not the CSR\'s'),
    ($bc->{ca} ? 'CA:TRUE' : ()),
    (view_ext($c, 'basicConstraints')->{critical} ? 'BC critical' : ());
});
case('BlankEndEntityCertificate_APIPassthrough/V1: no CSR extensions, only what the API gives', $R, $CSR,
     { template => 'BlankEndEntityCertificate_APIPassthrough/V1',
       api => { Extensions => { ExtendedKeyUsage => [{ ExtendedKeyUsageType => 'CODE_SIGNING' }] } } }, sub {
    my $c = shift;
    (view_ext($c, 'keyUsage') ? 'KU copied from the CSR' : ()),
    (join(',', @{ vals($c, 'extKeyUsage') || [] }) eq '1.3.6.1.5.5.7.3.3' ? () : 'EKU'),
    (sans($c) eq 'DnsName=csr.example' ? () : 'SAN ' . sans($c));
});
case('BlankEndEntityCertificate_CriticalBasicConstraints_APIPassthrough/V1: critical CA:FALSE', $R, $PLAIN,
     { template => 'BlankEndEntityCertificate_CriticalBasicConstraints_APIPassthrough/V1',
       api => { Extensions => { KeyUsage => { DigitalSignature => $T } } } }, sub {
    my $c = shift;
    my $bc = view_ext($c, 'basicConstraints');
    ($bc && $bc->{critical} && !$bc->{value}{ca} ? () : 'BC not critical CA:FALSE');
});

# ---- a SAN of every GeneralName kind (botocore shape GeneralName)
case('SubjectAlternativeNames of every GeneralName kind', $R, $PLAIN,
     { template => 'EndEntityCertificate_APIPassthrough/V1', api => { Extensions => { SubjectAlternativeNames => [
         { DnsName => 'all.example' }, { Rfc822Name => 'pki@example.com' },
         { UniformResourceIdentifier => 'https://example.com/id' }, { IpAddress => '192.0.2.9' },
         { IpAddress => '2001:db8::9' }, { RegisteredId => '1.3.6.1.4.1.99999.55' },
         { DirectoryName => { CommonName => 'directory', Country => 'FR' } },
         { OtherName => { TypeId => '1.3.6.1.4.1.311.20.2.3', Value => 'upn@example.com' } },
         { EdiPartyName => { PartyName => 'party', NameAssigner => 'assigner' } } ] } } }, sub {
    my $c = shift;
    my @kinds = map { keys %$_ } @{ vals($c, 'subjectAltName') || [] };
    my($text) = ($c->{text} // '') =~ /Subject Alternative Name:.*?\n\s*(.*?)\n/s;
    (join(',', @kinds) eq 'DnsName,Rfc822Name,UniformResourceIdentifier,IpAddress,IpAddress,RegisteredId,DirectoryName,'
                          . 'OtherName,EdiPartyName' ? () : 'kinds ' . join(',', @kinds)),
    (($text // '') =~ /DNS:all\.example, email:pki\@example\.com, URI:https:\/\/example\.com\/id, IP Address:192\.0\.2\.9, IP Address:2001:DB8:0:0:0:0:0:9/
        ? () : 'openssl text ' . ($text // ''));
});

# ---- custom extensions: the template's extension wins; CA-managed ones never come in
case('CustomExtensions: a KU for a template-defined KU is ignored; a critical private one is kept', $R, $PLAIN,
     { template => 'EndEntityCertificate_APIPassthrough/V1',
       api => { Extensions => { CustomExtensions => [
           { ObjectIdentifier => '2.5.29.15', Value => 'AwIBhg==', Critical => $T },   # keyCertSign, cRLSign...
           { ObjectIdentifier => '1.3.6.1.4.1.99999.9', Value => 'DAJoaQ==', Critical => $T } ] } } }, sub {
    my $c = shift;
    my $x = view_ext($c, '1.3.6.1.4.1.99999.9');
    (join(',', @{ vals($c, 'keyUsage') }) eq 'digitalSignature,keyEncipherment' ? () : 'KU from CustomExtensions'),
    ($x && $x->{critical} && $x->{value} eq '0c026869' ? () : 'private extension');
});
case('CustomExtensions: BC, CDP and AIA are the CA\'s, never the caller\'s', $R, $PLAIN,
     { template => 'BlankEndEntityCertificate_APIPassthrough/V1',
       api => { Extensions => { KeyUsage => { DigitalSignature => $T }, CustomExtensions => [
           { ObjectIdentifier => '2.5.29.19', Value => 'MAMBAf8=', Critical => $T },
           { ObjectIdentifier => '2.5.29.31', Value => 'MB8wHaAboBmGF2h0dHA6Ly9ldmlsLmV4YW1wbGUvY3Js' },
           { ObjectIdentifier => '1.3.6.1.5.5.7.1.1', Value => 'MBgwFgYIKwYBBQUHMAGGCmh0dHA6Ly9lL28=' } ] } } }, sub {
    my $c = shift;
    ((vals($c, 'basicConstraints') || {})->{ca} ? 'CA:TRUE from the caller' : ()),
    (view_ext($c, 'cRLDistributionPoints') ? 'CDP from the caller' : ()),
    (view_ext($c, 'authorityInfoAccess') ? 'AIA from the caller' : ());
});

# ---- CA templates: the template's path length, never the CSR's
case('SubordinateCACertificate_PathLen1_CSRPassthrough/V1: CSR asking CA:TRUE pathlen 9 gets pathlen 1', $R,
     make_csr(subj => '/CN=greedy sub', ext => ['basicConstraints=critical,CA:TRUE,pathlen:9',
                                               'nameConstraints=critical,permitted;DNS:.example'])->{csr},
     { template => 'SubordinateCACertificate_PathLen1_CSRPassthrough/V1' }, sub {
    my $c = shift;
    my $bc = vals($c, 'basicConstraints') || {};
    ($bc->{ca} && defined $bc->{pathlen} && $bc->{pathlen} == 1 ? () : 'pathlen not the template\'s'),
    (view_ext($c, 'nameConstraints') ? () : 'name constraints not passed through to a CA certificate');
});

# ---- refusals
case('keyCertSign from ApiPassthrough on an end-entity template', $R, $PLAIN,
     { template => 'BlankEndEntityCertificate_APIPassthrough/V1',
       api => { Extensions => { KeyUsage => { KeyCertSign => $T, DigitalSignature => $T } } } },
     ['InvalidArgsException', qr/keyCertSign/]);
case('name constraints from the CSR on an end-entity template', $R,
     make_csr(subj => '/CN=nc', ext => ['nameConstraints=critical,permitted;DNS:.example'])->{csr},
     { template => 'EndEntityCertificate_CSRPassthrough/V1' }, ['InvalidArgsException', qr/nameConstraints/]);
case('a blank CA template without keyCertSign', $R, $PLAIN,
     { template => 'BlankSubordinateCACertificate_PathLen0_APIPassthrough/V1' }, ['InvalidArgsException', qr/KeyCertSign/]);
case('an unknown template', $R, $PLAIN, { template => 'NoSuchTemplate/V1' }, ['InvalidArgsException', qr/template/]);
case('a root template on a CSR that is not the CA\'s own', $R, $PLAIN, { template => 'RootCACertificate/V1' },
     ['InvalidArgsException', qr/own/]);
case('a root template on a SUBORDINATE CA, even with its own CSR', $S1, $S1 ? $S1->{csr} : '',
     { template => 'RootCACertificate/V1', signing => 'SHA256WITHECDSA' }, ['InvalidArgsException', undef]);
case('a PathLen1 CA may issue PathLen0', $S1, $PLAIN, { template => 'SubordinateCACertificate_PathLen0/V1' }, sub { () });
case('a PathLen1 CA may not issue PathLen1', $S1, $PLAIN, { template => 'SubordinateCACertificate_PathLen1/V1' },
     ['ValidationException', qr/path length/]);
case('a PathLen0 CA may not issue CA certificates', $S0, $PLAIN,
     { template => 'SubordinateCACertificate_PathLen0/V1', signing => 'SHA256WITHRSA' }, ['ValidationException', qr/path length/]);
case('a PathLen0 CA may not issue blank CA certificates either', $S0, $PLAIN,
     { template => 'BlankSubordinateCACertificate_PathLen0_APIPassthrough/V1', signing => 'SHA256WITHRSA',
       api => { Extensions => { KeyUsage => { KeyCertSign => $T } } } }, ['ValidationException', qr/path length/]);
case('a PathLen0 CA issues end-entity certificates', $S0, $PLAIN, { template => 'EndEntityCertificate/V1',
     signing => 'SHA384WITHRSA' }, sub { () });
case('signing algorithm of the wrong family', $R, $PLAIN, { signing => 'SHA256WITHRSA' },
     ['InvalidArgsException', qr/^Signing algorithm SHA256WITHRSA cannot be used with key type EC_secp384r1\. Valid signing algorithms are: SHA256WITHECDSA, SHA384WITHECDSA, SHA512WITHECDSA\.$/]);

plan tests => 3 + 2 * grep({ ref $_->[4] eq 'CODE' } @CASES) + grep({ ref $_->[4] eq 'ARRAY' } @CASES),
    need_module('acmpca');

ok($R, 'an ACTIVE root');
ok($S1 && $S0, 'a PathLen1 subordinate under it and a PathLen0 one under that');
for my $case (@CASES) {
    my($name, $ca, $csr, $o, $want) = @$case;
    if (ref $want eq 'ARRAY') {
        my(undef, undef, $res) = issue($ca ? $ca->{arn} : '', $csr, signing => 'SHA256WITHECDSA', %$o);
        is_aws_error($res, 400, $want->[0], $want->[1], "$name -> $want->[0]");
        next;
    }
    my $c = $ca ? issue_get($ca->{arn}, $csr, signing => $ca->{signing}, %$o) : undef;
    ok($c, "$name: issued");
    if ($c) {
        $c->{lint} = lint_json($c);
        $c->{text} = x509_text($c->{cert});
        push @ISSUED, [$name, $c];
    }
    my @bad = $c ? $want->($c) : ('not issued');
    ok(!@bad, $name) or diag(join "\n", @bad);
}
my @dirty = grep { @{ $_->[1]{lint}{errors} } } @ISSUED;
ok(!@dirty, 'every certificate issued here passes the lint')
    or diag(join "\n", map { "$_->[0]: @{ $_->[1]{lint}{errors} }" } @dirty);
