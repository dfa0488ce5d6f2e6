# CreateCertificateAuthority (PCA-API.md §5.1, §5.1.1, §7.1): key algorithms and
# the CSR they produce, signing-algorithm families, the subject, CsrExtensions,
# RevocationConfiguration rules, idempotency tokens, tags, UsageMode,
# KeyStorageSecurityStandard, and the CA quota (on the acmpca_quota vhost, whose
# ACMPCAMaxCertificateAuthorities is 2).
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use JSON::PP ();

plan tests => 83, need_module('acmpca');

my $T = JSON::PP::true;
my $F = JSON::PP::false;

sub create_res {
    my %o = @_;
    my(undef, $j, $res) = api(CreateCertificateAuthority => {
        CertificateAuthorityConfiguration => ca_config(%o),
        CertificateAuthorityType          => $o{type} // 'ROOT',
        %{ $o{extra} || {} },
    }, %{ $o{headers} || {} });
    return ($res, $j && $j->{CertificateAuthorityArn});
}

sub count_cas {
    my %h = @_;
    my($n, $token, $pages) = (0, undef, 0);
    do {
        my($st, $j) = api(ListCertificateAuthorities => { MaxResults => 100, ($token ? (NextToken => $token) : ()) }, %h);
        return undef unless $st == 200 && $j;
        $n += @{ $j->{CertificateAuthorities} || [] };
        $token = $j->{NextToken};
    } while ($token && ++$pages < 100);
    $n;
}

# ---- key algorithms and the CSR (4 tests each)
my @keys = (
    ['RSA_2048',      'SHA256WITHRSA',   qr/Public-Key: \(2048 bit\)/, 'sha256WithRSAEncryption'],
    ['RSA_3072',      'SHA384WITHRSA',   qr/Public-Key: \(3072 bit\)/, 'sha384WithRSAEncryption'],
    ['RSA_4096',      'SHA512WITHRSA',   qr/Public-Key: \(4096 bit\)/, 'sha512WithRSAEncryption'],
    ['EC_prime256v1', 'SHA256WITHECDSA', qr/ASN1 OID: prime256v1/,     'ecdsa-with-SHA256'],
    ['EC_secp384r1',  'SHA384WITHECDSA', qr/ASN1 OID: secp384r1/,      'ecdsa-with-SHA384'],
    ['EC_secp521r1',  'SHA512WITHECDSA', qr/ASN1 OID: secp521r1/,      'ecdsa-with-SHA512'],
    ['EC_prime256v1', 'SHA512WITHECDSA', qr/ASN1 OID: prime256v1/,     'ecdsa-with-SHA512'],
);
for my $k (@keys) {
    my($key, $sig, $key_re, $sig_name) = @$k;
    my($res, $arn) = create_res(key => $key, signing => $sig);
    like($arn // '', CA_ARN_RE, "$key/$sig: created, ARN of the documented form")
        or diag($res->code . ' ' . $res->content);
    my $csr = $arn ? get_ca_csr($arn) : undef;
    my $text = csr_text($csr) // '';
    like($text, $key_re, "$key: the CSR carries a key of that algorithm");
    like($text, qr/Signature Algorithm: \Q$sig_name\E/, "$key/$sig: the CSR is signed with $sig_name");
    my $v = openssl('req', '-verify', '-noout', '-in', write_file('v.csr', $csr // ''));
    ok($csr && $v->{rc} == 0, "$key: the CSR's self-signature verifies") or diag($v->{err});
}

# ---- signing algorithm against key family, unsupported algorithms
{
    my $before = count_cas();
    my($res) = create_res(key => 'RSA_2048', signing => 'SHA384WITHECDSA');
    is_aws_error($res, 400, 'InvalidArgsException',
        qr/^Signing algorithm SHA384WITHECDSA cannot be used with key type RSA_2048\. Valid signing algorithms are: SHA256WITHRSA, SHA384WITHRSA, SHA512WITHRSA\.$/,
        'RSA key with an ECDSA signing algorithm -> InvalidArgsException, AWS message');
    ($res) = create_res(key => 'EC_prime256v1', signing => 'SHA256WITHRSA');
    is_aws_error($res, 400, 'InvalidArgsException',
        qr/^Signing algorithm SHA256WITHRSA cannot be used with key type EC_prime256v1\. Valid signing algorithms are: SHA256WITHECDSA, SHA384WITHECDSA, SHA512WITHECDSA\.$/,
        'EC key with an RSA signing algorithm -> InvalidArgsException, AWS message');
    ($res) = create_res(key => 'ML_DSA_44', signing => 'ML_DSA_44');
    is_aws_error($res, 400, 'InvalidArgsException', undef, 'ML_DSA_44 (unsupported) -> InvalidArgsException');
    ($res) = create_res(key => 'ML_DSA_87', signing => 'ML_DSA_87');
    is_aws_error($res, 400, 'InvalidArgsException', undef, 'ML_DSA_87 (unsupported) -> InvalidArgsException');
    ($res) = create_res(key => 'SM2', signing => 'SM3WITHSM2');
    is_aws_error($res, 400, 'InvalidArgsException', undef, 'SM2 (unsupported) -> InvalidArgsException');
    ($res) = create_res(key => 'RSA_2048', signing => 'SM3WITHSM2');
    is_aws_error($res, 400, 'InvalidArgsException', undef, 'RSA key with SM3WITHSM2 -> InvalidArgsException');
    my $after = count_cas();
    ok(defined $before && defined $after && $after == $before, 'refused creations leave no CA behind');
}

# ---- the subject
{
    my($res) = create_res(subject => {});
    is_aws_error($res, 400, 'InvalidArgsException', undef, 'an empty Subject -> InvalidArgsException');

    my %all = (Country => 'US', Organization => 'Org', OrganizationalUnit => 'Unit',
        DistinguishedNameQualifier => 'dnq', State => 'State', CommonName => 'Common',
        SerialNumber => 'SN123', Locality => 'Loc', Title => 'Title', Surname => 'Sur',
        GivenName => 'Giv', Initials => 'AB', Pseudonym => 'Pseu', GenerationQualifier => 'III');
    my $arn;
    ($res, $arn) = create_res(subject => \%all);
    my $rdns = csr_rdns($arn ? get_ca_csr($arn) : '') || [];
    is(join(',', map { $_->[0] } @$rdns),
        'countryName,organizationName,organizationalUnitName,dnQualifier,stateOrProvinceName,commonName,'
        . 'serialNumber,localityName,title,surname,givenName,initials,pseudonym,generationQualifier',
        'every Subject field, in the documented RDN order');
    is(join(',', map { "$_->[0]=$_->[1]" } grep { $_->[1] eq 'PRINTABLESTRING' } @$rdns),
        'countryName=PRINTABLESTRING,dnQualifier=PRINTABLESTRING,serialNumber=PRINTABLESTRING',
        'C, DNQ and serialNumber are PrintableString, the others UTF8String')
        or diag(join ' ', map { "$_->[0]=$_->[1]" } @$rdns);
    my $d = $arn ? describe_ca($arn) : undef;
    is_deeply($d && $d->{CertificateAuthorityConfiguration}{Subject}, \%all, 'Describe echoes the Subject');

    ($res, $arn) = create_res(subject => { CustomAttributes => [
        { ObjectIdentifier => '2.5.4.10', Value => 'Custom Org' },
        { ObjectIdentifier => '2.5.4.3', Value => 'Custom CN' },
        { ObjectIdentifier => '1.3.6.1.4.1.55555.1', Value => 'private' } ] });
    $rdns = csr_rdns($arn ? get_ca_csr($arn) : '') || [];
    is(join(',', map { "$_->[0]=$_->[2]" } @$rdns),
        'organizationName=Custom Org,commonName=Custom CN,1.3.6.1.4.1.55555.1=private',
        'CustomAttributes make the subject, in the order given');

    ($res) = create_res(subject => { CommonName => 'x', CustomAttributes => [{ ObjectIdentifier => '2.5.4.3', Value => 'y' }] });
    is_aws_error($res, 400, 'InvalidArgsException', undef, 'CustomAttributes mixed with CommonName -> InvalidArgsException');

    my $cn = 'Größe 認証局 CA';
    ($res, $arn) = create_res(subject => { CommonName => $cn });
    my $subj = $arn ? csr_subject(get_ca_csr($arn)) : '';
    utf8::decode($subj);
    like($subj, qr/CN = \Q$cn\E/, 'a non-ASCII CommonName arrives in the CSR as UTF-8');
}

# ---- CsrExtensions
{
    my($res, $arn) = create_res(csr_extensions => {
        KeyUsage => { DigitalSignature => $T, KeyCertSign => $T, CRLSign => $T },
        SubjectInformationAccess => [{ AccessMethod => { AccessMethodType => 'CA_REPOSITORY' },
                                       AccessLocation => { UniformResourceIdentifier => 'http://repo.example.com/ca' } }] });
    my $text = $arn ? csr_text(get_ca_csr($arn)) // '' : '';
    my($crit, $ku) = cert_field($text, 'Key Usage');
    ok($crit && ($ku // '') eq 'Digital Signature, Certificate Sign, CRL Sign', 'CsrExtensions KeyUsage is requested in the CSR, critical')
        or diag($text);
    like($text, qr{Subject Information Access:\s*\n\s*CA Repository - URI:http://repo\.example\.com/ca}, 'CsrExtensions SIA is requested in the CSR');
}

# ---- RevocationConfiguration (§5.1.1)
{
    my @bad = (
        [{ CrlConfiguration => { Enabled => $F, ExpirationInDays => 7 } }, 'CRL Enabled=false with ExpirationInDays'],
        [{ CrlConfiguration => { Enabled => $F, S3BucketName => 'crl-bucket' } }, 'CRL Enabled=false with S3BucketName'],
        [{ CrlConfiguration => { Enabled => $T } }, 'CRL enabled without S3BucketName'],
        [{ CrlConfiguration => { Enabled => $T, S3BucketName => 'Bad_Bucket' } }, 'S3BucketName with upper case and _'],
        [{ CrlConfiguration => { Enabled => $T, S3BucketName => 'crl..bucket' } }, 'S3BucketName with ..'],
        [{ CrlConfiguration => { Enabled => $T, S3BucketName => '192.168.1.10' } }, 'S3BucketName that is an IP address'],
        [{ CrlConfiguration => { Enabled => $T, S3BucketName => 'b' x 64 } }, 'S3BucketName of 64 characters'],
        [{ CrlConfiguration => { Enabled => $T, S3BucketName => 'crl-bucket', CustomCname => 'http://crl.example.com' } }, 'CustomCname with http://'],
        [{ CrlConfiguration => { Enabled => $T, S3BucketName => 'crl-bucket', CustomCname => 'https://crl.example.com' } }, 'CustomCname with https://'],
        [{ CrlConfiguration => { Enabled => $T, S3BucketName => 'crl-bucket', CustomCname => 'crl.example.com',
                                 CrlDistributionPointExtensionConfiguration => { OmitExtension => $T } } }, 'OmitExtension with CustomCname'],
        [{ OcspConfiguration => { Enabled => $F, OcspCustomCname => 'ocsp.example.com' } }, 'OCSP Enabled=false with OcspCustomCname'],
        [{ OcspConfiguration => { Enabled => $T, OcspCustomCname => 'http://ocsp.example.com' } }, 'OcspCustomCname with http://'],
    );
    for my $b (@bad) {
        my($res) = create_res(extra => { RevocationConfiguration => $b->[0] });
        is_aws_error($res, 400, 'InvalidArgsException', undef, "RevocationConfiguration: $b->[1] -> InvalidArgsException");
    }

    my $full = {
        CrlConfiguration => { Enabled => $T, S3BucketName => 'crl-bucket.example', ExpirationInDays => 10,
                              CustomCname => 'crl.example.com', S3ObjectAcl => 'BUCKET_OWNER_FULL_CONTROL' },
        OcspConfiguration => { Enabled => $T, OcspCustomCname => 'ocsp.example.com' },
    };
    my($res, $arn) = create_res(extra => { RevocationConfiguration => $full });
    ok($arn, 'a full valid RevocationConfiguration is accepted') or diag($res->content);
    my $rc = ($arn ? describe_ca($arn) : undef) || {};
    $rc = $rc->{RevocationConfiguration} || {};
    my %got_crl = map { $_ => $rc->{CrlConfiguration}{$_} } keys %{ $full->{CrlConfiguration} };
    is_deeply([\%got_crl, $rc->{OcspConfiguration}], [$full->{CrlConfiguration}, $full->{OcspConfiguration}],
        'Describe echoes the RevocationConfiguration');

    ($res, $arn) = create_res(extra => { RevocationConfiguration => { CrlConfiguration => { Enabled => $T, S3BucketName => 'crl-bucket' } } });
    my $crl = ((($arn ? describe_ca($arn) : undef) || {})->{RevocationConfiguration} || {})->{CrlConfiguration} || {};
    ok(($crl->{ExpirationInDays} // 0) == 7 && ($crl->{S3ObjectAcl} // '') eq 'PUBLIC_READ'
        && (!exists $crl->{CrlType} || $crl->{CrlType} eq 'COMPLETE'),
        'CRL defaults: ExpirationInDays 7, S3ObjectAcl PUBLIC_READ, CrlType COMPLETE')
        or diag(json_encode($crl));

    ($res, $arn) = create_res(extra => { RevocationConfiguration => { CrlConfiguration => { Enabled => $T, S3BucketName => 'crl-bucket',
        CrlDistributionPointExtensionConfiguration => { OmitExtension => $T } } } });
    ok($arn, 'OmitExtension without CustomCname is accepted') or diag($res->content);

    ($res, $arn) = create_res(extra => { RevocationConfiguration => { CrlConfiguration => { Enabled => $F }, OcspConfiguration => { Enabled => $F } } });
    ok($arn, 'Enabled=false alone is accepted') or diag($res->content);
    $rc = ((($arn ? describe_ca($arn) : undef) || {})->{RevocationConfiguration}) || {};
    ok(!($rc->{CrlConfiguration} && $rc->{CrlConfiguration}{Enabled}) && !($rc->{OcspConfiguration} && $rc->{OcspConfiguration}{Enabled}),
        '... and Describe shows CRL and OCSP disabled');

    ($res, $arn) = create_res(extra => { RevocationConfiguration => { CrlConfiguration => { Enabled => $T, S3BucketName => 'crl-bucket', CustomCname => 'crl.example.com:8080' } } });
    ok($arn, 'a CustomCname of host:port is accepted') or diag($res->content);
}

# ---- IdempotencyToken
{
    my $tok = uniq('idem');
    my $before = count_cas();
    my(undef, $a1) = create_res(cn => 'idempotent', extra => { IdempotencyToken => $tok });
    my(undef, $a2) = create_res(cn => 'idempotent', extra => { IdempotencyToken => $tok });
    ok($a1 && $a2 && $a1 eq $a2, 'the same IdempotencyToken returns the same ARN');
    my $after = count_cas();
    ok(defined $before && defined $after && $after == $before + 1, '... and creates one CA');
    my(undef, $a3) = create_res(cn => 'other parameters', key => 'RSA_2048', extra => { IdempotencyToken => $tok });
    ok($a1 && $a3 && $a1 eq $a3, 'the same token with other parameters returns the original ARN');
    my(undef, $a4) = create_res(cn => 'idempotent', extra => { IdempotencyToken => uniq('idem') });
    ok($a4 && $a1 && $a4 ne $a1, 'another token creates another CA');
}

# ---- tags at creation
{
    my($res, $arn) = create_res(extra => { Tags => [{ Key => 'env', Value => 'test' }, { Key => 'team' }] });
    my($st, $j) = $arn ? api(ListTags => { CertificateAuthorityArn => $arn }) : ();
    my %tags = map { $_->{Key} => $_->{Value} // '' } @{ ($j || {})->{Tags} || [] };
    is_deeply(\%tags, { env => 'test', team => '' }, 'Tags given at creation are listed by ListTags');
    ($res) = create_res(extra => { Tags => [{ Key => 'aws:owner', Value => 'x' }] });
    is_aws_error($res, 400, 'InvalidTagException', undef, 'a tag key starting with aws: -> InvalidTagException');
    ($res) = create_res(extra => { Tags => [{ Key => 'bad*key', Value => 'x' }] });
    is_aws_error_any($res, 400, ['ValidationException', 'InvalidTagException'], undef, 'a tag key with * -> an invalid-tag error');
    ($res) = create_res(extra => { Tags => [map { { Key => "k$_", Value => 'v' } } 1 .. 51] });
    is_aws_error_any($res, 400, ['ValidationException', 'TooManyTagsException'], undef, '51 tags -> refused');
}

# ---- UsageMode, KeyStorageSecurityStandard, type
{
    my($res, $arn) = create_res();
    my $d = ($arn ? describe_ca($arn) : undef) || {};
    is($d->{UsageMode}, 'GENERAL_PURPOSE', 'UsageMode defaults to GENERAL_PURPOSE');
    is($d->{KeyStorageSecurityStandard}, 'FIPS_140_2_LEVEL_3_OR_HIGHER', 'KeyStorageSecurityStandard defaults to FIPS_140_2_LEVEL_3_OR_HIGHER');

    ($res, $arn) = create_res(extra => { UsageMode => 'SHORT_LIVED_CERTIFICATE', KeyStorageSecurityStandard => 'FIPS_140_2_LEVEL_2_OR_HIGHER' });
    $d = ($arn ? describe_ca($arn) : undef) || {};
    is($d->{UsageMode}, 'SHORT_LIVED_CERTIFICATE', 'UsageMode SHORT_LIVED_CERTIFICATE is kept');
    is($d->{KeyStorageSecurityStandard}, 'FIPS_140_2_LEVEL_2_OR_HIGHER', 'KeyStorageSecurityStandard FIPS_140_2_LEVEL_2_OR_HIGHER is kept');

    ($res) = create_res(extra => { KeyStorageSecurityStandard => 'CCPC_LEVEL_1_OR_HIGHER' });
    is_aws_error($res, 400, 'InvalidArgsException',
        qr/^A certificate authority cannot be created in this region with the specified security standard\.$/,
        'KeyStorageSecurityStandard CCPC_LEVEL_1_OR_HIGHER -> InvalidArgsException, AWS message');

    ($res, $arn) = create_res(type => 'SUBORDINATE');
    $d = ($arn ? describe_ca($arn) : undef) || {};
    ok(($d->{Type} // '') eq 'SUBORDINATE' && ($d->{Status} // '') eq 'PENDING_CERTIFICATE',
        'a SUBORDINATE CA is created PENDING_CERTIFICATE');
}

# ---- the CA quota (acmpca_quota: ACMPCAMaxCertificateAuthorities 2)
{
    my %q = (headers => { -module => 'acmpca_quota' });
    my($res, $arn, @made);
    for (1 .. 3) {
        ($res, $arn) = create_res(%q);
        last unless $arn;
        push @made, $arn;
    }
    is(count_cas(-module => 'acmpca_quota'), 2, 'the quota store holds exactly ACMPCAMaxCertificateAuthorities (2) CAs');
    is_aws_error($res, 400, 'LimitExceededException', undef, 'one CA over the quota -> LimitExceededException');
    my(undef, undef, $del) = api(DeleteCertificateAuthority => { CertificateAuthorityArn => $made[0] // '',
                                                                 PermanentDeletionTimeInDays => 7 }, -module => 'acmpca_quota');
    is($del->code, 200, 'a CA of the quota store is deleted');
    ($res) = create_res(%q);
    is_aws_error($res, 400, 'LimitExceededException', undef, 'a deleted but restorable CA still counts against the quota');
    is(count_cas(-module => 'acmpca_quota'), 2, '... so the store still holds 2 CAs (one DELETED)');
    my(undef, undef, $other) = api(DescribeCertificateAuthority => { CertificateAuthorityArn => $made[-1] // '' });
    is_aws_error($other, 400, 'ResourceNotFoundException', undef,
        'a CA of the quota store is unknown to the main vhost: the stores are separate');
}
