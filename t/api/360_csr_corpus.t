# A corpus of malformed and hostile CSRs, made by openssl at test time (issue 3,
# PCA-API.md §5.5, §7.3): each gets its AWS error, or a certificate that carries only
# what the template allows; the store then holds exactly the certificates that were
# answered with an ARN (nothing else was signed), and each passes the lint. 10,000
# SANs neither hang nor crash the server.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Issue;
use Time::HiRes ();

my $R = make_root_active(key => 'EC_prime256v1', cn => uniq('Corpus Root'));
my $CA = $R ? $R->{arn} : '';
my $good = make_csr(subj => '/CN=good');
my $rsa = make_csr(key => 'rsa:2048', subj => '/CN=rsa');

# ---- refused: [name, csr bytes, __type, message re]
my @REFUSED;
sub refused { push @REFUSED, [@_] }
refused('not a CSR at all', 'hello, I am not a certificate request', 'MalformedCSRException');
refused('empty after base64', "\n", 'MalformedCSRException');
refused('trailing garbage after the PEM block', csr_variant($good->{csr}, 'trailing'), 'MalformedCSRException', qr/after/);
refused('two PEM blocks', csr_variant($good->{csr}, 'two'), 'MalformedCSRException', qr/after/);
refused('wrong PEM label (CERTIFICATE)', csr_variant($good->{csr}, 'label'), 'MalformedCSRException', qr/label/);
refused('truncated PEM', csr_variant($good->{csr}, 'truncated'), 'MalformedCSRException');
refused('PEM body cut short', csr_variant($good->{csr}, 'short-body'), 'MalformedCSRException');
refused('text before the PEM block', csr_variant($good->{csr}, 'leading'), 'MalformedCSRException');
refused('truncated DER', substr($good->{der}, 0, length($good->{der}) - 7), 'MalformedCSRException');
refused('DER with trailing bytes', $good->{der} . "\0\0", 'MalformedCSRException');
{
    my $d = $rsa->{der};
    substr($d, -5, 1) = chr(ord(substr($d, -5, 1)) ^ 0x55);
    refused('a bad self-signature', $d, 'MalformedCSRException', qr/signature/);
}
refused('a certificate instead of a CSR', $R ? $R->{cert} : 'x', 'MalformedCSRException');
refused('signed with MD5', make_csr(key => 'rsa:2048', md => 'md5')->{csr}, 'MalformedCSRException', qr/weak/);
refused('signed with SHA-1', make_csr(key => 'ec:P-256', md => 'sha1')->{csr}, 'MalformedCSRException', qr/weak/);
refused('an RSA-1024 key', make_csr(key => 'rsa:1024')->{csr}, 'MalformedCSRException', qr/1024/);
refused('explicit EC parameters', make_csr(key => 'ec-explicit:P-256')->{csr}, 'MalformedCSRException', qr/explicit/);
refused('a curve the CA cannot certify (secp256k1)', make_csr(key => 'ec:secp256k1')->{csr}, 'MalformedCSRException', qr/curve/);
refused('a key type the CA cannot certify (Ed25519)', make_csr(key => 'ed25519')->{csr}, 'MalformedCSRException', qr/cannot certify/);
refused('no subject and no SAN', make_csr(subj => '')->{csr}, 'MalformedCSRException', qr/neither/);
refused('empty subject with a non-critical SAN', make_csr(subj => '', ext => ['subjectAltName=DNS:x.example'])->{csr},
        'MalformedCSRException', qr/^CSR must mark the SAN extension critical when it has an empty subject$/);
refused('a duplicate SAN extension', make_csr(ext => ['subjectAltName=DNS:a.example', '2.5.29.17=DER:300D820B622E6578616D706C65'])->{csr},
        'MalformedCSRException', qr/more than once/);
refused('a malformed key usage value', make_csr(ext => ['keyUsage=critical,DER:0500'])->{csr}, 'MalformedCSRException', qr/malformed/);
refused('one SAN more than the bound (1001)', make_csr(ext => ['subjectAltName=' . join ',', map { "DNS:h$_.x" } 1 .. 1001])->{csr},
        'MalformedCSRException', qr/at most 1000/);

# ---- issued: [name, csr, template, sub { mismatches } ] (or an error expected by template)
my @ISSUE;
sub issued { push @ISSUE, [@_] }
my $HOSTILE = make_csr(subj => '/CN=hostile', ext => [
    'basicConstraints=critical,CA:TRUE,pathlen:5', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    'extendedKeyUsage=codeSigning,OCSPSigning,timeStamping,serverAuth',
    'authorityInfoAccess=OCSP;URI:http://evil.example/ocsp,caIssuers;URI:http://evil.example/ca.crt',
    'crlDistributionPoints=URI:http://evil.example/evil.crl', 'subjectAltName=DNS:hostile.example'])->{csr};
sub v { my($c, $n) = @_; (grep { $_->{name} eq $n } @{ $c->{lint}{cert}{extensions} || [] })[0] }
sub ee_only {
    my $c = shift;
    my @bad;
    my $bc = v($c, 'basicConstraints');
    push @bad, 'CA:TRUE' if !$bc || $bc->{value}{ca} || defined $bc->{value}{pathlen};
    push @bad, 'KU ' . join(',', @{ v($c, 'keyUsage')->{value} }) unless join(',', @{ v($c, 'keyUsage')->{value} }) eq 'digitalSignature,keyEncipherment';
    push @bad, 'EKU' unless join(',', @{ v($c, 'extKeyUsage')->{value} }) eq '1.3.6.1.5.5.7.3.1,1.3.6.1.5.5.7.3.2';
    push @bad, $_ for map { v($c, $_) ? "$_ present" : () } qw(authorityInfoAccess cRLDistributionPoints nameConstraints);
    @bad;
}
issued('CA:TRUE, keyCertSign, extra EKUs, AIA and CDP asked for; EndEntityCertificate/V1', $HOSTILE, 'EndEntityCertificate/V1', \&ee_only);
issued('the same on EndEntityCertificate_CSRPassthrough/V1', $HOSTILE, 'EndEntityCertificate_CSRPassthrough/V1', \&ee_only);
issued('the same on CodeSigningCertificate_APICSRPassthrough/V1', $HOSTILE, 'CodeSigningCertificate_APICSRPassthrough/V1', sub {
    my $c = shift;
    my $bc = v($c, 'basicConstraints');
    ((!$bc || $bc->{value}{ca}) ? 'CA:TRUE' : ()),
    (join(',', @{ v($c, 'keyUsage')->{value} }) eq 'digitalSignature' ? () : 'KU'),
    (join(',', @{ v($c, 'extKeyUsage')->{value} }) eq '1.3.6.1.5.5.7.3.3' && v($c, 'extKeyUsage')->{critical} ? () : 'EKU'),
    (v($c, 'authorityInfoAccess') || v($c, 'cRLDistributionPoints') ? 'AIA/CDP' : ());
});
issued('keyCertSign through a blank template with CSR passthrough', $HOSTILE, 'BlankEndEntityCertificate_APICSRPassthrough/V1',
       ['InvalidArgsException', qr/keyCertSign/]);
my $NC = make_csr(subj => '/CN=nc', ext => ['nameConstraints=critical,permitted;DNS:.example'])->{csr};
issued('name constraints on EndEntityCertificate/V1: not copied', $NC, 'EndEntityCertificate/V1', \&ee_only);
issued('name constraints on EndEntityCertificate_CSRPassthrough/V1', $NC, 'EndEntityCertificate_CSRPassthrough/V1',
       ['InvalidArgsException', qr/nameConstraints/]);
my $UC = make_csr(subj => '/CN=uc', ext => ['1.3.6.1.4.1.99999.77=critical,ASN1:NULL'])->{csr};
issued('an unknown critical extension on EndEntityCertificate/V1: not copied', $UC, 'EndEntityCertificate/V1', sub {
    v($_[0], '1.3.6.1.4.1.99999.77') ? 'copied' : () });
issued('an unknown critical extension on EndEntityCertificate_CSRPassthrough/V1', $UC, 'EndEntityCertificate_CSRPassthrough/V1',
       ['InvalidArgsException', qr/critical/]);
issued('an unknown non-critical extension on EndEntityCertificate_CSRPassthrough/V1: copied',
       make_csr(subj => '/CN=un', ext => ['1.3.6.1.4.1.99999.78=ASN1:UTF8String:x'])->{csr}, 'EndEntityCertificate_CSRPassthrough/V1',
       sub { my $x = v($_[0], '1.3.6.1.4.1.99999.78'); $x && !$x->{critical} ? () : 'not copied' });
issued('empty subject, critical SAN: the certificate\'s SAN is critical',
       make_csr(subj => '', ext => ['subjectAltName=critical,DNS:only.example'])->{csr}, 'EndEntityCertificate/V1',
       sub { my $s = v($_[0], 'subjectAltName'); $s && $s->{critical} ? () : 'SAN not critical' });
issued('a DER CSR', $good->{der}, 'EndEntityCertificate/V1', sub { () });
issued('a CSR labelled NEW CERTIFICATE REQUEST', $good->{csr} =~ s/CERTIFICATE REQUEST/NEW CERTIFICATE REQUEST/gr,
       'EndEntityCertificate/V1', sub { () });
issued('exactly 1000 SANs', make_csr(ext => ['subjectAltName=' . join ',', map { "DNS:h$_.x" } 1 .. 1000])->{csr},
       'EndEntityCertificate/V1', sub { scalar(@{ v($_[0], 'subjectAltName')->{value} }) == 1000 ? () : 'SAN count' });
issued('an RSA-4096 key signed with SHA-512', make_csr(key => 'rsa:4096', md => 'sha512')->{csr}, 'EndEntityCertificate/V1',
       sub { $_[0]{lint}{cert}{key}{bits} == 4096 ? () : 'key' });
issued('a P-521 key', make_csr(key => 'ec:P-521', md => 'sha512')->{csr}, 'EndEntityCertificate/V1',
       sub { $_[0]{lint}{cert}{key}{curve} eq 'P-521' ? () : 'key' });

plan tests => 1 + @REFUSED + 2 * grep({ ref $_->[3] eq 'CODE' } @ISSUE) + grep({ ref $_->[3] eq 'ARRAY' } @ISSUE) + 4,
    need_module('acmpca');
ok($R, 'an ACTIVE root');
my $before = store_cert_count(ca_id_of($CA));

for my $r (@REFUSED) {
    my($name, $bytes, $type, $re) = @$r;
    my(undef, undef, $res) = issue($CA, undef, csr_bytes => $bytes, template => 'EndEntityCertificate/V1');
    is_aws_error($res, 400, $type, $re, "$name -> $type");
}
my($n_issued, @dirty) = (0);
for my $i (@ISSUE) {
    my($name, $csr, $template, $want) = @$i;
    if (ref $want eq 'ARRAY') {
        my(undef, undef, $res) = issue($CA, $csr, template => $template);
        is_aws_error($res, 400, $want->[0], $want->[1], "$name -> $want->[0]");
        next;
    }
    my $c = issue_get($CA, $csr, template => $template);
    ok($c, "$name: issued");
    $n_issued++ if $c;
    $c->{lint} = lint_json($c) if $c;
    push @dirty, "$name: @{ $c->{lint}{errors} }" if $c && @{ $c->{lint}{errors} };
    my @bad = $c ? $want->($c) : ('not issued');
    ok(!@bad, "$name: only what the template allows") or diag(join "\n", @bad);
}
ok(!@dirty, 'every certificate issued from the corpus passes the lint') or diag(join "\n", @dirty);

# ---- 10,000 SANs: refused by the model's Csr length (32768), in bounded time, twice
# (PEM and DER), and the server answers normally afterwards.
my $huge = make_csr(ext => ['subjectAltName=' . join ',', map { "DNS:host$_.example.com" } 1 .. 10000]);
my $t0 = Time::HiRes::time();
my(undef, undef, $r1) = issue($CA, $huge->{csr});
my(undef, undef, $r2) = issue($CA, undef, csr_bytes => $huge->{der});
my $took = Time::HiRes::time() - $t0;
ok($r1->code == 400 && $r2->code == 400 && (json_decode($r1->content) || {})->{__type} eq 'ValidationException'
   && (json_decode($r2->content) || {})->{__type} eq 'ValidationException' && $took < 20,
   sprintf('10,000 SANs (PEM and DER) -> ValidationException in %.1fs', $took)) or diag($r1->content, $r2->content);
is_api_ok((api(DescribeCertificateAuthority => { CertificateAuthorityArn => $CA }))[2], '... and the server answers afterwards');

# ---- nothing else was signed: the store holds exactly the certificates answered
SKIP: {
    skip 'the store is not sqlite (or sqlite3 is missing): cannot count rows', 1 unless defined $before;
    is(store_cert_count(ca_id_of($CA)) - $before, $n_issued, "the store holds exactly the $n_issued certificates issued");
}
